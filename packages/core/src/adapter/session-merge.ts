import type { Session } from '../types.js';

/** The session fields a later summary can change; every other field keeps its first write. */
export const MERGED_SESSION_FIELDS = [
  'startedAt',
  'lastSeenAt',
  'endedAt',
  'pageViews',
  'exitPath',
  'userId',
  'isBot',
  'convertedUserId',
  'convertedAt',
  'durationMs',
] as const satisfies readonly (keyof Session)[];

/** One of {@link MERGED_SESSION_FIELDS}. */
export type MergedSessionField = (typeof MERGED_SESSION_FIELDS)[number];

function maxOfSet(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * The monotonic merge of a stored session summary with an incoming one (docs/semantics.md, `session`):
 * `startedAt = min`, `lastSeenAt = max`, `endedAt = max` of the non-null values, `pageViews = max`,
 * `exitPath` from the write with the greater `(lastSeenAt, pageViews)` (ties keep the stored one),
 * `userId = stored ?? incoming`, `isBot = stored || incoming`, the conversion pair
 * (`convertedUserId`, `convertedAt`) taken together from the stored row when it has a `convertedUserId`,
 * else from the incoming one, and `durationMs = lastSeenAt − startedAt`. Every other field keeps its first
 * write. With no stored row, the incoming summary is stored as is, its `durationMs` recomputed.
 *
 * Every rule is monotonic, so summaries written twice, late or out of order converge to the same row. A store
 * whose merge must run inside the database (an `ON CONFLICT` clause, an update pipeline) computes this same
 * rule there, and its contract or property tests compare it with this function.
 *
 * @example
 * const next = mergeSession(stored ?? null, incoming);
 * if (stored === undefined || sessionChanged(stored, next)) save(next);
 */
export function mergeSession(stored: Session | null, incoming: Session): Session {
  if (stored === null) return { ...incoming, durationMs: incoming.lastSeenAt - incoming.startedAt };
  const incomingIsLater =
    incoming.lastSeenAt > stored.lastSeenAt ||
    (incoming.lastSeenAt === stored.lastSeenAt && incoming.pageViews > stored.pageViews);
  const startedAt = Math.min(stored.startedAt, incoming.startedAt);
  const lastSeenAt = Math.max(stored.lastSeenAt, incoming.lastSeenAt);
  // The conversion pair moves together: a user id never sits beside another conversion's time.
  const conversion = stored.convertedUserId !== null ? stored : incoming;
  return {
    ...stored,
    startedAt,
    lastSeenAt,
    endedAt: maxOfSet(stored.endedAt, incoming.endedAt),
    pageViews: Math.max(stored.pageViews, incoming.pageViews),
    exitPath: incomingIsLater ? incoming.exitPath : stored.exitPath,
    userId: stored.userId ?? incoming.userId,
    isBot: stored.isBot || incoming.isBot,
    convertedUserId: conversion.convertedUserId,
    convertedAt: conversion.convertedAt,
    durationMs: lastSeenAt - startedAt,
  };
}

/** Whether a merge changed a stored session (it then counts in `WriteResult.written`). */
export function sessionChanged(before: Session, after: Session): boolean {
  return MERGED_SESSION_FIELDS.some((field) => before[field] !== after[field]);
}
