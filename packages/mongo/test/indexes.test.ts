import { mongoStore } from '@anon/mongo';
import { describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';

const TTL = { key: { expireAt: 1 }, expireAfterSeconds: 0 };
const PURGE_MARKER = { name: 'purgeRun_sparse', key: { purgeRun: 1 }, sparse: true };
const PENDING_RUN = { name: 'pending_run_sparse', key: { 'pending.run': 1 }, sparse: true };
const FLAGGED_BY = { name: 'flaggedBy_sparse', key: { flaggedBy: 1 }, sparse: true };

/** Exactly the indexes `ensureIndexes()` must leave, by collection, besides `_id_`. */
const EXPECTED: Record<
  string,
  { name: string; key: Record<string, number>; expireAfterSeconds?: number; sparse?: boolean }[]
> = {
  anon_sessions: [
    { name: 'day_isBot', key: { day: 1, isBot: 1 } },
    { name: 'visitorKey_startedAt', key: { visitorKey: 1, startedAt: 1 } },
    { name: 'startedAt', key: { startedAt: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    PURGE_MARKER,
  ],
  anon_page_views: [
    { name: 'sessionId_seq', key: { sessionId: 1, seq: 1 } },
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    PURGE_MARKER,
    FLAGGED_BY,
  ],
  anon_page_metrics: [
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'viewId', key: { viewId: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    FLAGGED_BY,
  ],
  anon_conversions: [
    { name: 'day_at', key: { day: 1, at: 1 } },
    { name: 'sessionIds', key: { sessionIds: 1 } },
  ],
  anon_daily_pages: [{ name: 'day_path', key: { day: 1, path: 1 } }],
  anon_unique_visitors: [
    { name: 'day', key: { day: 1 } },
    { name: 'expireAt_ttl', ...TTL },
  ],
  anon_batches: [{ name: 'expireAt_ttl', ...TTL }],
  anon_bot_sessions: [{ name: 'expireAt_ttl', ...TTL }],
  anon_session_rollups: [{ name: 'day', key: { day: 1 } }, PENDING_RUN],
  anon_visitor_rollups: [{ name: 'day_path', key: { day: 1, path: 1 } }, PENDING_RUN],
  anon_daily_jobs: [{ name: 'expireAt_ttl', ...TTL }],
};

async function listed(db: EmulatedDb, name: string) {
  const docs = await db.collection(name).listIndexes().toArray();
  return docs.map(({ name, key, expireAfterSeconds, sparse }) => ({
    name,
    key,
    ...(expireAfterSeconds === undefined ? {} : { expireAfterSeconds }),
    ...(sparse === undefined ? {} : { sparse }),
  }));
}

describe('ensureIndexes', () => {
  it('creates exactly the report indexes and the TTL indexes of retention', async () => {
    const db = new EmulatedDb();
    const created = await mongoStore(db).ensureIndexes();
    for (const [collection, indexes] of Object.entries(EXPECTED)) {
      expect(await listed(db, collection)).toEqual([{ name: '_id_', key: { _id: 1 } }, ...indexes]);
    }
    expect(created.sort()).toEqual(
      Object.entries(EXPECTED)
        .flatMap(([collection, indexes]) => indexes.map((index) => `${collection}.${index.name}`))
        .sort(),
    );
  });

  it('puts no TTL index on aggregates, rollups or conversions, which are kept forever', async () => {
    const db = new EmulatedDb();
    await mongoStore(db).ensureIndexes();
    for (const collection of [
      'anon_daily_pages',
      'anon_conversions',
      'anon_session_rollups',
      'anon_visitor_rollups',
    ]) {
      const docs = await db.collection(collection).listIndexes().toArray();
      expect(docs.filter((doc) => doc.expireAfterSeconds !== undefined)).toEqual([]);
    }
  });

  it('is idempotent and honours the collection prefix', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db, { prefix: 'site2_' });
    await store.ensureIndexes();
    await store.ensureIndexes();
    expect(store.collections.sessions).toBe('site2_sessions');
    expect((await db.collection('site2_sessions').listIndexes().toArray()).map((doc) => doc.name)).toEqual([
      '_id_',
      'day_isBot',
      'visitorKey_startedAt',
      'startedAt',
      'expireAt_ttl',
      'purgeRun_sparse',
    ]);
    expect(await db.collection('anon_sessions').listIndexes().toArray()).toHaveLength(1);
  });
});
