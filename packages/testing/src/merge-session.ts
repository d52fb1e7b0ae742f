import type { Session } from '@anon/core';

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * The monotonic merge of a stored session summary with an incoming one (docs/semantics.md, `session`), written
 * out here on its own so the suites and the generator's truth never lean on a store's implementation.
 */
export function mergeSessionSummary(stored: Session | null, incoming: Session): Session {
  if (stored === null) return { ...incoming, durationMs: incoming.lastSeenAt - incoming.startedAt };
  const incomingIsLater =
    incoming.lastSeenAt > stored.lastSeenAt ||
    (incoming.lastSeenAt === stored.lastSeenAt && incoming.pageViews > stored.pageViews);
  const startedAt = Math.min(stored.startedAt, incoming.startedAt);
  const lastSeenAt = Math.max(stored.lastSeenAt, incoming.lastSeenAt);
  return {
    ...stored,
    startedAt,
    lastSeenAt,
    endedAt: maxOrNull(stored.endedAt, incoming.endedAt),
    pageViews: Math.max(stored.pageViews, incoming.pageViews),
    exitPath: incomingIsLater ? incoming.exitPath : stored.exitPath,
    userId: stored.userId ?? incoming.userId,
    isBot: stored.isBot || incoming.isBot,
    convertedUserId: stored.convertedUserId ?? incoming.convertedUserId,
    convertedAt: stored.convertedAt ?? incoming.convertedAt,
    durationMs: lastSeenAt - startedAt,
  };
}
