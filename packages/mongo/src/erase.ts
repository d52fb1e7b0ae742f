import type { EraseResult } from '@anon/core';
import { checkEraseUser } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import { SOURCE } from './errors.js';

/** Ids per `$in`: keeps every command far below MongoDB's 16 MB limit. */
const CHUNK = 1_000;

/**
 * Erase one user: the sessions named by their conversion or carrying their id (`userId` or
 * `convertedUserId`), those sessions' metrics and page views, any other page view carrying the id with its
 * metrics, and the conversion. MongoDB has no multi-document transaction here, so the conversion — what links
 * the anonymous sessions to the user — goes last: an erase that stops half way is completed by the next.
 * Daily aggregates and unique-visitor entries hold no user id and stay; the bot flags of the erased sessions go.
 */
export async function eraseUser(c: Collections, given: unknown): Promise<EraseResult> {
  const userId = checkEraseUser(given, SOURCE);
  const conversions = await c.conversions
    .find({ userId }, { projection: { _id: 1, sessionIds: 1 } })
    .toArray();
  const sessionIds = new Set<string>(conversions.flatMap((doc) => (doc.sessionIds as string[]) ?? []));
  const owned = await c.sessions
    .find({ $or: [{ userId }, { convertedUserId: userId }] }, { projection: { _id: 1 } })
    .toArray();
  for (const doc of owned) sessionIds.add(String(doc._id));
  const ids = [...sessionIds];
  const result: EraseResult = { sessions: 0, pageViews: 0, metrics: 0, conversions: 0 };

  // Views carrying the id outside those sessions take their metrics with them.
  const strays = await c.pageViews
    .find({ userId, sessionId: { $nin: ids } }, { projection: { _id: 1 } })
    .toArray();
  const strayIds = strays.map((doc) => String(doc._id));
  for (let i = 0; i < strayIds.length; i += CHUNK) {
    const chunk = strayIds.slice(i, i + CHUNK);
    result.metrics += (await c.metrics.deleteMany({ viewId: { $in: chunk } })).deletedCount;
    result.pageViews += (await c.pageViews.deleteMany({ _id: { $in: chunk } })).deletedCount;
  }
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    result.metrics += (await c.metrics.deleteMany({ sessionId: { $in: chunk } })).deletedCount;
    result.pageViews += (await c.pageViews.deleteMany({ sessionId: { $in: chunk } })).deletedCount;
    await c.botSessions.deleteMany({ _id: { $in: chunk } });
    result.sessions += (await c.sessions.deleteMany({ _id: { $in: chunk } })).deletedCount;
  }
  // Catches a view carrying the id written between the reads above and now.
  result.pageViews += (await c.pageViews.deleteMany({ userId })).deletedCount;
  result.conversions += (await c.conversions.deleteMany({ userId })).deletedCount;
  return result;
}
