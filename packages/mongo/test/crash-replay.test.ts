import { type EventBatch, isAnonError } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { mongoStore } from '@anon/mongo';
import { generateTraffic, type StoreProbe } from '@anon/testing';
import { describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';
import { type CrashMode, faultyDb } from './emulated/faulty-db.js';
import { mongoProbe } from './mongo-probe.js';

// MongoDB without a replica set has no multi-document transaction: a worker can die between any two writes of
// a batch. These tests kill the write at every step and check that the queue's redelivery converges on the
// state of a clean run.

const traffic = generateTraffic({ seed: 7, visitors: 8, days: 2, signupShare: 0.6, authenticatedShare: 0.3 });
const EVERYTHING = { from: '0001-01-01', to: '9999-12-31', limit: 100_000 };

async function state(probe: StoreProbe, sessionIds: string[]) {
  return {
    pageViewIds: (await probe.pageViewIds()).sort(),
    metricIds: (await probe.metricIds()).sort(),
    conversionIds: (await probe.conversionIds()).sort(),
    aggregates: await probe.aggregates(),
    sessions: await Promise.all(sessionIds.map((id) => probe.session(id))),
  };
}

const sessionIds = traffic.sessions.map((session) => session.id);

async function cleanRun() {
  const db = new EmulatedDb();
  const store = mongoStore(db);
  for (const batch of traffic.batches) await store.write(batch);
  return { db, store, expected: await state(mongoProbe(db, 'anon_'), sessionIds) };
}

/** Writes every batch; the `crashAt`-th write of each batch crashes, then the batch is redelivered. */
async function crashingRun(crashAt: number, mode: CrashMode) {
  const db = new EmulatedDb();
  const healthy = mongoStore(db);
  let crashes = 0;
  for (const batch of traffic.batches) {
    const faulty = faultyDb(db, crashAt, mode);
    try {
      await mongoStore(faulty).write(batch);
    } catch (error) {
      expect(isAnonError(error, 'store_failed')).toBe(true);
      crashes++;
      // Redelivery: the same batch, to a worker that does not crash.
      await healthy.write(batch);
    }
    // A second redelivery of a completed batch changes nothing.
    expect(await healthy.write(batch)).toEqual({ applied: false, written: 0 });
  }
  return { db, store: healthy, crashes };
}

/** How many writes each batch of the traffic takes on a clean run. */
async function writesPerBatch(): Promise<number[]> {
  const db = new EmulatedDb();
  const counts: number[] = [];
  for (const batch of traffic.batches) {
    const counting = faultyDb(db, Number.POSITIVE_INFINITY, 'after');
    await mongoStore(counting).write(batch);
    counts.push(counting.writes());
  }
  return counts;
}

// Views, metrics, conversions, bot-session flags and sessions (in parallel); the session updates (links,
// retention, bot flags); the page view and metric updates (moves to the bots, retention); unique visitors;
// aggregates; the ledger; and the cleanup of the batch's records on rows and entries (and of entries left at
// 0): the generated batch that flags the scraper's session takes 13 writes.
const MAX_WRITES = 13;

let counted: Promise<number[]> | null = null;
let clean: Promise<Awaited<ReturnType<typeof cleanRun>>> | null = null;

describe('a batch interrupted at any write converges on redelivery', () => {
  it('the traffic exercises every write step', async () => {
    counted ??= writesPerBatch();
    const counts = await counted;
    expect(Math.max(...counts)).toBe(MAX_WRITES);
    expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_WRITES);
    // Some batches carry conversions, so linking and retention fix-ups are among the steps interrupted; one
    // flags a session whose earlier views are stored, so the moves to the bots are too.
    const has = (type: string) => traffic.batches.some((batch) => batch.events.some((e) => e.type === type));
    expect(has('conversion')).toBe(true);
    expect(has('botsession')).toBe(true);
  });

  for (const mode of ['before', 'after'] as const) {
    for (let crashAt = 1; crashAt <= MAX_WRITES; crashAt++) {
      it(`crash ${mode} write #${crashAt} of every batch`, async () => {
        counted ??= writesPerBatch();
        clean ??= cleanRun();
        const counts = await counted;
        const { expected } = await clean;
        const { db, store, crashes } = await crashingRun(crashAt, mode);
        expect(crashes).toBe(counts.filter((count) => count >= crashAt).length);
        const probe = mongoProbe(db, 'anon_');
        expect(await state(probe, sessionIds)).toEqual(expected);
        expect(await probe.aggregates()).toEqual(recomputeAggregates(traffic.views, traffic.metrics));
        expect(await store.topPages(EVERYTHING)).toEqual(traffic.truth.topPages(EVERYTHING));
      });
    }
  }
});

describe('concurrent workers', () => {
  it('two workers writing the same batch and its events under other ids count everything once', async () => {
    const db = new EmulatedDb();
    const workers = [mongoStore(db), mongoStore(db), mongoStore(db)];
    const renamed = (batch: EventBatch, suffix: string): EventBatch => ({
      ...batch,
      id: `${batch.id}:${suffix}`,
    });
    for (const batch of traffic.batches) {
      const results = await Promise.all([
        workers[0]!.write(batch),
        workers[1]!.write(batch),
        workers[2]!.write(renamed(batch, 'again')),
      ]);
      // One of the two deliveries of the same id applies it; at most one is told it applied.
      expect(results.slice(0, 2).filter((result) => result.applied).length).toBeLessThanOrEqual(2);
    }
    const probe = mongoProbe(db, 'anon_');
    expect(await probe.aggregates()).toEqual(recomputeAggregates(traffic.views, traffic.metrics));
    expect((await probe.pageViewIds()).sort()).toEqual(traffic.views.map((view) => view.id).sort());
    for (const session of traffic.sessions) expect(await probe.session(session.id)).toEqual(session);
  });

  it('leaves no batch marker on aggregate rows once batches are in the ledger', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    for (const batch of traffic.batches) await store.write(batch);
    const rows = db.collection('anon_daily_pages').snapshot();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.pendingBatches).toEqual([]);
  });
});
