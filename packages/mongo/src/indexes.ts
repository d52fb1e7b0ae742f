import type { CollectionKey, Collections } from './collections.js';
import type { MongoIndexSpec } from './db-like.js';

/** TTL indexes delete a document once the clock passes its `expireAt` date. */
const TTL: Pick<MongoIndexSpec, 'key' | 'expireAfterSeconds'> = {
  key: { expireAt: 1 },
  expireAfterSeconds: 0,
};

const SPECS: Record<CollectionKey, MongoIndexSpec[]> = {
  sessions: [
    // Every session report filters on the day range (and the bot flag).
    { name: 'day_isBot', key: { day: 1, isBot: 1 } },
    // visitorSessions(): conversion matching.
    { name: 'visitorKey_startedAt', key: { visitorKey: 1, startedAt: 1 } },
    // purge(): anonymous sessions started before a time.
    { name: 'startedAt', key: { startedAt: 1 } },
    { name: 'expireAt_ttl', ...TTL },
  ],
  pageViews: [
    // Funnels and journeys look a session's views up; purge() deletes them by session.
    { name: 'sessionId_seq', key: { sessionId: 1, seq: 1 } },
    // purge(): aggregate-only views (no session) by time.
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'expireAt_ttl', ...TTL },
  ],
  metrics: [
    { name: 'sessionId_at', key: { sessionId: 1, at: 1 } },
    { name: 'viewId', key: { viewId: 1 } },
    { name: 'expireAt_ttl', ...TTL },
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
};

/**
 * Every index the store creates, by collection (besides `_id`). `expireAt` is set only on what retention may
 * delete — anonymous sessions, their page views and metrics, unique-visitor entries and ledger entries — so
 * aggregates and conversions never expire.
 */
export const INDEXES: Readonly<Record<CollectionKey, readonly MongoIndexSpec[]>> = Object.freeze(SPECS);

/** Create every index (idempotent: MongoDB skips an index that exists with the same name and keys). */
export async function ensureIndexes(c: Collections): Promise<string[]> {
  const created: string[] = [];
  for (const key of Object.keys(INDEXES) as CollectionKey[]) {
    const specs = INDEXES[key].map((spec) => ({ ...spec, key: { ...spec.key } }));
    const names = await c[key].createIndexes(specs);
    for (const name of names) created.push(`${c.names[key]}.${name}`);
  }
  return created;
}
