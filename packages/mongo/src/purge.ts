import type { PurgeResult } from '@anon/core';
import { checkPurgeBefore, purgeCutoffDay } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { SOURCE } from './errors.js';

/** Ids per `$in`: keeps every command far below MongoDB's 16 MB limit. */
const CHUNK = 1_000;
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

async function count(collection: MongoCollectionLike, filter: MongoDocument): Promise<number> {
  const [doc] = await collection.aggregate([{ $match: filter }, { $count: 'n' }]).toArray();
  return Number(doc?.n ?? 0);
}

/**
 * Delete anonymous sessions started before `before` (no user id, not converted, named by no conversion), their
 * page views and metrics, aggregate-only page views and their metrics older than `before`, and unique-visitor
 * entries of earlier days. Sessions go last, so a purge that stops half way is completed by the next one.
 */
export async function purge(
  c: Collections,
  before: number,
  timeZone: string,
  dryRun: boolean,
): Promise<PurgeResult> {
  checkPurgeBefore(before, SOURCE);
  const candidates = await c.sessions
    .find({ startedAt: { $lt: before }, userId: null, convertedUserId: null }, { projection: { _id: 1 } })
    .toArray();
  const ids: string[] = [];
  for (const chunk of chunks(candidates.map((doc) => String(doc._id)))) {
    const named = await c.conversions
      .find({ sessionIds: { $in: chunk } }, { projection: { sessionIds: 1 } })
      .toArray();
    const kept = new Set(named.flatMap((doc) => doc.sessionIds as string[]));
    for (const id of chunk) if (!kept.has(id)) ids.push(id);
  }
  // Aggregate-only views (DNT / Sec-GPC) belong to no session: they go by their own time, metrics with them.
  const orphans = { sessionId: null, at: { $lt: before } };
  const result: PurgeResult = { sessions: 0, pageViews: 0, metrics: 0 };
  if (dryRun) {
    result.pageViews += await count(c.pageViews, orphans);
    result.metrics += await count(c.metrics, orphans);
    for (const chunk of chunks(ids)) {
      result.pageViews += await count(c.pageViews, { sessionId: { $in: chunk } });
      result.metrics += await count(c.metrics, { sessionId: { $in: chunk } });
    }
    result.sessions = ids.length;
    return result;
  }
  result.metrics += (await c.metrics.deleteMany(orphans)).deletedCount;
  result.pageViews += (await c.pageViews.deleteMany(orphans)).deletedCount;
  for (const chunk of chunks(ids)) {
    result.metrics += (await c.metrics.deleteMany({ sessionId: { $in: chunk } })).deletedCount;
    result.pageViews += (await c.pageViews.deleteMany({ sessionId: { $in: chunk } })).deletedCount;
    // Re-checked at delete time: a session that gained a user since the scan above stays.
    result.sessions += (
      await c.sessions.deleteMany({ _id: { $in: chunk }, userId: null, convertedUserId: null })
    ).deletedCount;
  }
  // Unique-visitor entries are only needed while a day can still receive views.
  await c.uniqueVisitors.deleteMany({ day: { $lt: purgeCutoffDay(before, timeZone) } });
  return result;
}
