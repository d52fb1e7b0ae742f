import type { CollectionKey, Collections } from './collections.js';
import type { MongoIndexSpec } from './db-like.js';

/** TTL indexes delete a document once the clock passes its `expireAt` date. */
const TTL: Pick<MongoIndexSpec, 'key' | 'expireAfterSeconds'> = {
  key: { expireAt: 1 },
  expireAfterSeconds: 0,
};

/** purge(): the sessions and page views a purge run marked (absent from every other document). */
const PURGE_MARKER: MongoIndexSpec = { name: 'purgeRun_sparse', key: { purgeRun: 1 }, sparse: true };

/**
 * write(): the page views and metrics a batch moved to the bots (`flaggedBy: <batch id>`, set only on rows a
 * `botsession` re-flagged), read back to derive the batch's aggregate increments.
 */
const FLAGGED_BY: MongoIndexSpec = { name: 'flaggedBy_sparse', key: { flaggedBy: 1 }, sparse: true };

/** purge(): the rollup rows holding a run's pending increments (absent once settled). */
const PENDING_RUN: MongoIndexSpec = { name: 'pending_run_sparse', key: { 'pending.run': 1 }, sparse: true };

const SPECS: Record<CollectionKey, MongoIndexSpec[]> = {
  sessions: [
    // Every session report filters on the day range (and the bot flag).
    { name: 'day_isBot', key: { day: 1, isBot: 1 } },
    // visitorSessions(): conversion matching.
    { name: 'visitorKey_startedAt', key: { visitorKey: 1, startedAt: 1 } },
    // purge(): anonymous sessions started before a time.
    { name: 'startedAt', key: { startedAt: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    PURGE_MARKER,
  ],
  pageViews: [
    // Funnels and journeys look a session's views up; purge() deletes them by session.
    { name: 'sessionId_seq', key: { sessionId: 1, seq: 1 } },
    // purge(): aggregate-only views (no session) by time.
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    PURGE_MARKER,
    FLAGGED_BY,
  ],
  metrics: [
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'viewId', key: { viewId: 1 } },
    { name: 'expireAt_ttl', ...TTL },
    FLAGGED_BY,
  ],
  conversions: [
    { name: 'day_at', key: { day: 1, at: 1 } },
    // Multikey: "is this session in a conversion" (journeys, purge, retention).
    { name: 'sessionIds', key: { sessionIds: 1 } },
  ],
  dailyPages: [{ name: 'day_path', key: { day: 1, path: 1 } }],
  uniqueVisitors: [
    { name: 'day', key: { day: 1 } },
    { name: 'expireAt_ttl', ...TTL },
  ],
  batches: [{ name: 'expireAt_ttl', ...TTL }],
  botSessions: [{ name: 'expireAt_ttl', ...TTL }],
  // Reports read rollups by day; a purge settles the rows carrying its pending increments.
  sessionRollups: [{ name: 'day', key: { day: 1 } }, PENDING_RUN],
  visitorRollups: [{ name: 'day_path', key: { day: 1, path: 1 } }, PENDING_RUN],
  purgeRuns: [],
  dailyJobs: [{ name: 'expireAt_ttl', ...TTL }],
};

/**
 * Every index the store creates, by collection (besides `_id`). `expireAt` is set only on what retention may
 * delete — anonymous sessions, their page views and metrics, unique-visitor entries, ledger entries, bot-session
 * flags and daily job claims — so aggregates, rollups and conversions never expire.
 */
export const INDEXES: Readonly<Record<CollectionKey, readonly MongoIndexSpec[]>> = Object.freeze(SPECS);

/** Create every index (idempotent: MongoDB skips an index that exists with the same name and keys). */
export async function ensureIndexes(c: Collections): Promise<string[]> {
  const created: string[] = [];
  for (const key of Object.keys(INDEXES) as CollectionKey[]) {
    const specs = INDEXES[key].map((spec) => ({ ...spec, key: { ...spec.key } }));
    // The server refuses a createIndexes with no index.
    if (specs.length === 0) continue;
    const names = await c[key].createIndexes(specs);
    for (const name of names) created.push(`${c.names[key]}.${name}`);
  }
  return created;
}
