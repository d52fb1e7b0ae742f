import type { Conversion, IdentifyRequest, Session, Touch } from './types.js';

/**
 * The signup conversion for an identify request and the visitor's stored sessions (docs/concepts.md): links
 * the anonymous sessions started in [since, at] (and the live one), with first- and last-touch attribution.
 * Null for `login`. Deterministic id `signup:<userId>`, so identify twice converts once.
 */
export function buildConversion(req: IdentifyRequest, stored: Session[]): Conversion | null {
  if (req.kind !== 'signup') return null;

  // The live copy is the session exactly as it stood at signup (summaries are persisted only every Nth view).
  // A stored copy of the same id can only be older, or newer than the signup (written by the time the
  // worker gets here, e.g. the finalization of the session the visitor went on browsing in): either way the
  // live copy is the one that says what happened *before* converting. Without it, the most advanced copy.
  const byId = new Map<string, Session>();
  for (const session of stored) {
    const known = byId.get(session.id);
    if (known === undefined || isMoreAdvanced(session, known)) byId.set(session.id, session);
  }
  if (req.live !== null) byId.set(req.live.id, req.live);

  const keys = new Set(req.visitorKeys);
  const linked = [...byId.values()]
    .filter(
      (s) =>
        keys.has(s.visitorKey) &&
        s.startedAt >= req.since &&
        s.startedAt <= req.at &&
        !s.isBot &&
        (s.userId === null || s.userId === req.userId),
    )
    .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const first = linked[0];
  const last = linked[linked.length - 1];
  return {
    id: `signup:${req.userId}`,
    userId: req.userId,
    kind: 'signup',
    at: req.at,
    day: req.day,
    sessionIds: linked.map((s) => s.id),
    firstTouch: first === undefined ? null : touchOf(first),
    lastTouch: last === undefined ? null : touchOf(last),
    pagesBefore: linked.reduce((sum, s) => sum + s.pageViews, 0),
    msBefore: first === undefined ? null : req.at - first.startedAt,
  };
}

function isMoreAdvanced(candidate: Session, known: Session): boolean {
  if (candidate.pageViews !== known.pageViews) return candidate.pageViews > known.pageViews;
  return candidate.lastSeenAt > known.lastSeenAt;
}

/** The attribution a session gives a conversion: its landing page, start, referrer and UTM values. */
export function touchOf(session: Session): Touch {
  return {
    sessionId: session.id,
    landingPath: session.landingPath,
    startedAt: session.startedAt,
    referrer: session.referrer,
    referrerHost: session.referrerHost,
    utmSource: session.utmSource,
    utmMedium: session.utmMedium,
    utmCampaign: session.utmCampaign,
    utmTerm: session.utmTerm,
    utmContent: session.utmContent,
  };
}
