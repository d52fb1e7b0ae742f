import type { Session } from '@anon/core';

/**
 * Folds an incoming session summary into the stored one (docs/semantics.md, `session`). Every rule is
 * monotonic, so summaries written twice, late or out of order converge to the same row.
 */
export function mergeSession(stored: Session, incoming: Session): Session {
  // The exit page comes from whichever write saw more of the session; on a tie the stored one stays.
  const incomingIsAhead =
    incoming.lastSeenAt > stored.lastSeenAt ||
    (incoming.lastSeenAt === stored.lastSeenAt && incoming.pageViews > stored.pageViews);
  const startedAt = Math.min(stored.startedAt, incoming.startedAt);
  const lastSeenAt = Math.max(stored.lastSeenAt, incoming.lastSeenAt);
  // The conversion is a pair: both fields come from the same write.
  const converted = stored.convertedUserId !== null ? stored : incoming;
  return {
    ...stored,
    startedAt,
    lastSeenAt,
    endedAt: maxOfKnown(stored.endedAt, incoming.endedAt),
    durationMs: lastSeenAt - startedAt,
    pageViews: Math.max(stored.pageViews, incoming.pageViews),
    exitPath: incomingIsAhead ? incoming.exitPath : stored.exitPath,
    userId: stored.userId ?? incoming.userId,
    isBot: stored.isBot || incoming.isBot,
    convertedUserId: converted.convertedUserId,
    convertedAt: converted.convertedAt,
  };
}

/** True when the two summaries differ in any field (counted as a write). */
export function sessionChanged(before: Session, after: Session): boolean {
  return (Object.keys(after) as (keyof Session)[]).some((key) => before[key] !== after[key]);
}

function maxOfKnown(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
