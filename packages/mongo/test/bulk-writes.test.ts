import { recomputeAggregates } from '@anon/core/adapter';
import { type MongoUpdateOneModel, mongoStore } from '@anon/mongo';
import { generateTraffic } from '@anon/testing';
import { describe, expect, it } from 'vitest';
import { type Call, chaosDb } from './emulated/chaos-db.js';
import { EmulatedDb } from './emulated/emulated-db.js';
import { mongoProbe } from './mongo-probe.js';

// The shape of the write path (issue 14: bulk writes, increments folded in memory), counted on the EMULATED
// collection: which commands each batch sends, and how many operations they carry. These are properties of
// the code, checked for correctness; they say nothing of a real server's speed (docs/mongo.md, "Bulk writes").

const PREFIX = 'anon_';
const traffic = generateTraffic({ seed: 20260115, visitors: 30, days: 3 });

/** Every call the store makes while writing `batch`. */
async function callsOf(db: EmulatedDb, write: (store: ReturnType<typeof mongoStore>) => Promise<unknown>) {
  const calls: Call[] = [];
  await write(mongoStore(chaosDb(db, PREFIX, { before: (call) => void calls.push(call) })));
  return calls;
}

describe('bulk writes (emulated collection: shape, not speed)', () => {
  it('each batch sends one bulk write per collection and step, and one aggregate update per (day, path)', async () => {
    const db = new EmulatedDb();
    const writesPerBatch: number[] = [];
    for (const batch of traffic.batches) {
      const calls = await callsOf(db, (store) => store.write(batch));
      const writes = calls.filter((call) => call.write > 0);
      writesPerBatch.push(writes.length);
      const bulks = (collection: string) =>
        writes.filter((call) => call.collection === collection && call.method === 'bulkWrite');
      // Inserts: one unordered bulk write per collection. Sessions: the ordered merge, then one bulk of links,
      // retention and flags. Page views and metrics: the insert, then one bulk of moves and retention.
      for (const collection of ['page_views', 'page_metrics', 'sessions']) {
        expect(bulks(collection).length, collection).toBeLessThanOrEqual(2);
      }
      for (const collection of ['conversions', 'bot_sessions', 'unique_visitors', 'daily_pages']) {
        expect(bulks(collection).length, collection).toBeLessThanOrEqual(1);
      }
      // Only the bulk writes and the cleanup after the ledger are other commands.
      for (const call of writes.filter((call) => call.method !== 'bulkWrite')) {
        expect([
          'batches.insertOne',
          'daily_pages.updateMany',
          'unique_visitors.updateMany',
          'unique_visitors.deleteMany',
        ]).toContain(`${call.collection}.${call.method}`);
      }
      // The aggregate increments, folded in memory: one update per (day, path) the batch changes.
      const [aggregates] = bulks('daily_pages');
      const ids = ((aggregates?.args[0] ?? []) as MongoUpdateOneModel[]).map((op) =>
        JSON.stringify((op.updateOne.filter as { _id: unknown })._id),
      );
      expect(new Set(ids).size).toBe(ids.length);
      if (!batch.events.some((event) => event.type === 'botsession')) {
        const rows = new Set<string>();
        for (const event of batch.events) {
          if (event.type === 'pageview')
            rows.add(JSON.stringify({ day: event.view.day, path: event.view.path }));
          if (event.type === 'metric' && !event.metric.isBot) {
            rows.add(JSON.stringify({ day: event.metric.day, path: event.metric.path }));
          }
        }
        expect(new Set(ids)).toEqual(rows);
      }
    }
    expect(await mongoProbe(db, PREFIX).aggregates()).toEqual(
      recomputeAggregates(traffic.views, traffic.metrics),
    );
    // At most 13 write commands per batch (docs/mongo.md, "Exactly once without transactions").
    expect(Math.max(...writesPerBatch)).toBeLessThanOrEqual(13);
  });

  it('a batch replayed from the ledger sends no write at all', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    for (const batch of traffic.batches.slice(0, 3)) await store.write(batch);
    for (const batch of traffic.batches.slice(0, 3)) {
      const calls = await callsOf(db, (replaying) => replaying.write(batch));
      expect(calls.filter((call) => call.write > 0)).toEqual([]);
    }
  });
});
