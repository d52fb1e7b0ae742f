import { isAnonError, type PurgeOptions, type ReportQuery, type Store } from '@anon/core';
import { type MongoDocument, mongoStore } from '@anon/mongo';
import { DAY_MS, generateTraffic } from '@anon/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';
import { type CrashMode, faultyDb } from './emulated/faulty-db.js';
import { mongoProbe } from './mongo-probe.js';

// MongoDB without a replica set has no multi-document transaction: a purge can die between any two of its
// writes. These tests kill a purge at every write, and check that (1) the reports read in between equal the
// reports before the purge — a purge is invisible until its one commit write, and complete after it — and
// (2) the next purge resumes the run and converges on the state of a clean purge: each session folded once.

const traffic = generateTraffic({
  seed: 23,
  visitors: 12,
  days: 3,
  signupShare: 0.5,
  authenticatedShare: 0.3,
});
const middle = traffic.options.start + DAY_MS + DAY_MS / 2;
const PURGE: [number, PurgeOptions] = [middle, { authenticatedBefore: middle }];
const LATER = traffic.options.start + 2 * DAY_MS + DAY_MS / 2;

/**
 * The session-level reports (all that rollups keep) for the whole range, bots or not: `overview` has a row
 * per day. (The store contract reads every report for each day too; here the point is every crash point.)
 */
async function reportsOf(store: Store): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ranges: [string, string][] = [[traffic.from, traffic.to]];
  for (const [from, to] of ranges) {
    for (const includeBots of [false, true]) {
      const q: ReportQuery = { from, to, includeBots, limit: 1_000 };
      const label = `${from}..${to}${includeBots ? ' bots' : ''}`;
      const [sessions, overview, entry, exit, countries, referrers, campaigns, devices, bots, conversions] =
        await Promise.all([
          store.sessions(q),
          store.overview(q),
          store.entryPages(q),
          store.exitPages(q),
          store.countries(q),
          store.referrers(q),
          store.campaigns(q),
          store.devices(q),
          store.bots(q),
          store.conversions(q),
        ]);
      Object.assign(out, {
        [`sessions ${label}`]: sessions,
        [`overview ${label}`]: overview,
        [`entryPages ${label}`]: entry,
        [`exitPages ${label}`]: exit,
        [`countries ${label}`]: countries,
        [`referrers ${label}`]: referrers,
        [`campaigns ${label}`]: campaigns,
        [`devices ${label}`]: devices,
        [`bots ${label}`]: bots,
        [`conversions ${label}`]: conversions,
      });
    }
  }
  return out;
}

/** Rollup rows as stored, without the run ids a row remembers (they differ from run to run). */
function rollups(db: EmulatedDb, name: string): MongoDocument[] {
  return db
    .collection(name)
    .snapshot()
    .map(({ settledRuns: _, ...row }) => row)
    .sort((a, b) => (JSON.stringify(a._id) < JSON.stringify(b._id) ? -1 : 1));
}

/** Everything a purge changes, read raw. */
async function state(db: EmulatedDb) {
  const probe = mongoProbe(db, 'anon_');
  return {
    pageViewIds: (await probe.pageViewIds()).sort(),
    metricIds: (await probe.metricIds()).sort(),
    sessions: await Promise.all(traffic.sessions.map((s) => probe.session(s.id))),
    aggregates: await probe.aggregates(),
    sessionRollups: rollups(db, 'anon_session_rollups'),
    visitorRollups: rollups(db, 'anon_visitor_rollups'),
    runs: db.collection('anon_purge_runs').snapshot(),
    marked: ['anon_sessions', 'anon_page_views'].flatMap((name) =>
      db
        .collection(name)
        .snapshot()
        .filter((doc) => 'purgeRun' in doc),
    ),
  };
}

let loaded: EmulatedDb;
let before: Record<string, unknown>;
let clean: Awaited<ReturnType<typeof state>>;
let writes: number;

beforeAll(async () => {
  loaded = new EmulatedDb();
  const store = mongoStore(loaded);
  await store.ensureIndexes();
  for (const batch of traffic.batches) await store.write(batch);
  before = await reportsOf(store);
  const db = loaded.clone();
  const counting = faultyDb(db, Number.POSITIVE_INFINITY, 'after');
  const result = await mongoStore(counting).purge(...PURGE);
  expect(result.sessions).toBeGreaterThan(0);
  writes = counting.writes();
  clean = await state(db);
  expect(clean.sessionRollups.length).toBeGreaterThan(0);
  expect(clean.visitorRollups.length).toBeGreaterThan(0);
  expect(clean.runs).toEqual([]);
  expect(clean.marked).toEqual([]);
}, 60_000);

/** Purges through a database that fails at write `crashAt`; returns what a healthy store sees afterwards. */
async function crashingPurge(crashAt: number, mode: CrashMode, dies: boolean) {
  const db = loaded.clone();
  const error = await mongoStore(faultyDb(db, crashAt, mode, dies))
    .purge(...PURGE)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(isAnonError(error, 'store_failed')).toBe(true);
  return { db, store: mongoStore(db) };
}

describe('a purge interrupted at any write', () => {
  it('the purge takes enough writes to interrupt it at every step', () => {
    // The run document, marks, the pending entries, the commit, the settlement and the deletes.
    expect(writes).toBeGreaterThanOrEqual(15);
  });

  for (const mode of ['before', 'after'] as const) {
    it(`crash ${mode} each write: reports never change, and the next purge completes the run`, async () => {
      for (let crashAt = 1; crashAt <= writes; crashAt++) {
        const { db, store } = await crashingPurge(crashAt, mode, false);
        expect(await reportsOf(store), `reports after a crash ${mode} write ${crashAt}`).toEqual(before);
        await store.purge(...PURGE);
        expect(await state(db), `state after resuming a crash ${mode} write ${crashAt}`).toEqual(clean);
        expect(await reportsOf(store), `reports after resuming from write ${crashAt}`).toEqual(before);
        expect(await store.purge(...PURGE)).toEqual({ sessions: 0, pageViews: 0, metrics: 0 });
      }
    }, 240_000);
  }

  it('a process that dies holds its run until the lease ends; then the next purge resumes it', async () => {
    for (let crashAt = 1; crashAt <= writes; crashAt++) {
      const { db, store } = await crashingPurge(crashAt, 'after', true);
      expect(await reportsOf(store), `reports after dying at write ${crashAt}`).toEqual(before);
      const [run] = db.collection('anon_purge_runs').snapshot();
      if (run !== undefined) {
        // Another purge while the lease runs: refused, nothing changed.
        const untouched = await state(db);
        const refused = await store.purge(...PURGE).catch((e: unknown) => e);
        expect(isAnonError(refused, 'store_failed')).toBe(true);
        expect((refused as Error).message).toMatch(/another purge is under way/);
        expect(await state(db)).toEqual(untouched);
        // The lease runs out.
        await db
          .collection('anon_purge_runs')
          .updateMany({ _id: 'active' }, { $set: { leaseUntil: new Date(0) } });
      }
      await store.purge(...PURGE);
      expect(await state(db), `state after resuming a run that died at write ${crashAt}`).toEqual(clean);
    }
  }, 240_000);

  it('two purges at once: one runs, the other completes it or is refused; nothing is folded twice', async () => {
    const db = loaded.clone();
    const [a, b] = [mongoStore(db), mongoStore(db)];
    const outcomes = await Promise.allSettled([a.purge(...PURGE), b.purge(...PURGE)]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(isAnonError(outcome.reason, 'store_failed')).toBe(true);
      }
    }
    expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(await reportsOf(a)).toEqual(before);
    expect(await state(db)).toEqual(clean);
  }, 60_000);

  it('a resumed run followed by a later purge counts each session once', async () => {
    const { db, store } = await crashingPurge(Math.ceil(writes / 2), 'after', false);
    const resumed = await store.purge(...PURGE);
    const later = await store.purge(LATER, { authenticatedBefore: LATER });
    expect(later.sessions).toBeGreaterThan(0);
    expect(resumed.sessions).toBeGreaterThanOrEqual(0);
    expect(await reportsOf(store)).toEqual(before);

    // The same two purges without a crash leave the same rows.
    const reference = loaded.clone();
    const healthy = mongoStore(reference);
    await healthy.purge(...PURGE);
    await healthy.purge(LATER, { authenticatedBefore: LATER });
    expect(await state(db)).toEqual(await state(reference));
  }, 60_000);
});
