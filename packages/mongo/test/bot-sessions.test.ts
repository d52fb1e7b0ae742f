import { type AnonEvent, type EventBatch, isAnonError, type PageMetric, type PageView } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { mongoStore } from '@anon/mongo';
import {
  batchOf,
  botSessionEvent,
  DAY_MS,
  FIXTURE_DAY,
  FIXTURE_NOW,
  finalSummary,
  fixtureMetric,
  fixtureSession,
  fixtureVisit,
  fixtureVisitorKey,
  metricEvent,
  mulberry32,
  pageViewEvent,
  type Random,
  sessionEvent,
  withBotSessions,
} from '@anon/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Call, chaosDb, jitter } from './emulated/chaos-db.js';
import { EmulatedDb } from './emulated/emulated-db.js';
import type { CrashMode } from './emulated/faulty-db.js';
import { mongoProbe } from './mongo-probe.js';

// Bot sessions on MongoDB without transactions (docs/mongo.md, "Bot sessions"): a `botsession` event moves the
// stored human rows of its session to the bots, and a row of a flagged session written later is a bot from
// the start. These tests deliver the events in any order, crash workers at any write and redeliver the batch
// later, run batches at once with their calls interleaved, and check that the aggregates, the flags and the
// unique-visitor entries always end as a recomputation from the stored rows says.

const PREFIX = 'anon_';

/**
 * Sessions of a few visitors sharing a few paths; most are flagged by rate part-way (their views from the
 * flagging one on are bot views, and the `botsession` event follows it), some are crawlers from the start.
 */
function workload(random: Random): AnonEvent[] {
  const visitors = [fixtureVisitorKey(), fixtureVisitorKey()];
  const events: AnonEvent[] = [];
  for (let n = random.int(2, 4); n > 0; n--) {
    const userId = random.chance(0.3) ? `user-${random.hex(4)}` : null;
    const session = fixtureSession({
      startedAt: FIXTURE_NOW + random.int(0, 1) * DAY_MS + random.int(0, 3_600) * 1_000,
      visitorKey: random.pick(visitors),
      userId,
      isBot: random.chance(0.15),
      device: random.pick(['desktop', 'mobile', 'tablet'] as const),
    });
    const count = random.int(1, 5);
    const flagAt = random.chance(0.7) ? random.int(1, count) : count;
    const views = fixtureVisit(
      session,
      Array.from({ length: count }, () => random.pick(['/', '/a', '/b'])),
      random.int(1_000, 10_000),
    ).map((view, i) => (i >= flagAt ? { ...view, isBot: true, botReasons: ['rate' as const] } : view));
    views.forEach((view, i) => {
      events.push(pageViewEvent(view));
      if (i === flagAt && !session.isBot) events.push(botSessionEvent(view));
      if (random.chance(0.5))
        events.push(metricEvent(fixtureMetric(view, 'time_on_page', random.int(1, 9_999))));
      if (random.chance(0.3))
        events.push(metricEvent(fixtureMetric(view, 'scroll_depth', random.int(1, 100))));
    });
    events.push(sessionEvent({ ...finalSummary(session, views), isBot: session.isBot || flagAt < count }));
  }
  return events;
}

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function batchesOf(events: AnonEvent[], random: Random): EventBatch[] {
  const batches: EventBatch[] = [];
  for (let i = 0; i < events.length; ) {
    const size = random.int(1, 5);
    batches.push(batchOf(events.slice(i, i + size)));
    i += size;
  }
  return batches;
}

/** What the store must hold once `events` are written: first writes, flagged sessions' rows as bots. */
function heldOf(events: AnonEvent[]): { views: PageView[]; metrics: PageMetric[]; flagged: Set<string> } {
  const views = new Map<string, PageView>();
  const metrics = new Map<string, PageMetric>();
  const flagged = new Set<string>();
  for (const e of events) {
    if (e.type === 'pageview' && !views.has(e.view.id)) views.set(e.view.id, e.view);
    if (e.type === 'metric' && !metrics.has(e.id)) metrics.set(e.id, e.metric);
    if (e.type === 'botsession') flagged.add(e.botSession.sessionId);
  }
  const held = withBotSessions(
    { views: [...views.values()], metrics: [...metrics.values()], sessions: [], conversions: [] },
    flagged,
  );
  return { views: held.views, metrics: held.metrics, flagged };
}

/** Asserts the aggregates, the bot flags, the unique-visitor entries and the summaries against `events`. */
async function expectConsistent(db: EmulatedDb, events: AnonEvent[], label: string): Promise<void> {
  const held = heldOf(events);
  const probe = mongoProbe(db, PREFIX);
  expect(await probe.aggregates(), `${label}: aggregates`).toEqual(
    recomputeAggregates(held.views, held.metrics),
  );
  const flags = await probe.botRowIds?.();
  expect(flags?.pageViews.sort(), `${label}: bot page views`).toEqual(
    held.views
      .filter((v) => v.isBot)
      .map((v) => v.id)
      .sort(),
  );
  expect(flags?.metrics.sort(), `${label}: bot metrics`).toEqual(
    held.metrics
      .filter((m) => m.isBot)
      .map((m) => `${m.viewId}:${m.metric}`)
      .sort(),
  );
  // Each entry counts its visitor's human views of (day, path), and every such visitor has its entry.
  const humans = new Map<string, number>();
  for (const v of held.views) {
    if (v.isBot || v.visitorKey === null) continue;
    const key = JSON.stringify({ day: v.day, path: v.path, visitorKey: v.visitorKey });
    humans.set(key, (humans.get(key) ?? 0) + 1);
  }
  const entries = new Map(
    db
      .collection(`${PREFIX}unique_visitors`)
      .snapshot()
      .map((doc) => [JSON.stringify(doc._id), Number(doc.n)]),
  );
  for (const [key, n] of entries) expect(n, `${label}: entry ${key}`).toBe(humans.get(key) ?? 0);
  for (const [key, n] of humans) expect(entries.get(key), `${label}: entry ${key}`).toBe(n);
  for (const id of held.flagged) {
    const [summary] = await db.collection(`${PREFIX}sessions`).find({ _id: id }).toArray();
    if (summary !== undefined) expect(summary.isBot, `${label}: summary of ${id}`).toBe(true);
  }
}

/** A gate a worker's call waits at: `wait` resolves once `open` is called. */
function gate(): { wait: Promise<void>; open: () => void } {
  const opener: { open?: () => void } = {};
  const wait = new Promise<void>((resolve) => {
    opener.open = resolve;
  });
  return { wait, open: () => opener.open?.() };
}

/**
 * A session of three views on `/`, `/` and `/b`, the third flagging it: `first` stores v1, `late` stores v2 (and
 * `lateExtra`), `flag` stores the flagging view and the event. v2 is on the path of v1, whose row `flag`'s
 * increments reach.
 */
function flaggedSession(lateExtra: (v2: PageView) => AnonEvent[] = () => []) {
  const session = fixtureSession({ visitorKey: fixtureVisitorKey() });
  const [v1, v2, v3] = fixtureVisit(session, ['/', '/', '/b']) as [PageView, PageView, PageView];
  const flagging = { ...v3, isBot: true, botReasons: ['rate' as const] };
  const first = batchOf([pageViewEvent(v1)]);
  const late = batchOf([pageViewEvent(v2), ...lateExtra(v2)]);
  const flag = batchOf([pageViewEvent(flagging), botSessionEvent(flagging)]);
  return { v2, first, late, flag, events: [first, late, flag].flatMap((b) => b.events) };
}

/**
 * Starts writing `batch` through a worker held just before it stores its page views (its flag check done);
 * resolves once it is held. `release` lets it go on; `crash` says which of its writes fail.
 */
async function heldBeforeInsert(db: EmulatedDb, batch: EventBatch, crash?: (call: Call) => CrashMode | null) {
  const held = gate();
  const atGate = gate();
  const insert = (call: Call) => call.collection === 'page_views' && call.method === 'bulkWrite';
  const worker = mongoStore(
    chaosDb(db, PREFIX, {
      before: async (call) => {
        if (!insert(call)) return;
        atGate.open();
        await held.wait;
      },
      ...(crash === undefined ? {} : { crash }),
    }),
  );
  const written = worker.write(batch).catch((e: unknown) => e);
  await atGate.wait;
  return { written, release: held.open };
}

async function flaggedBy(db: EmulatedDb, viewId: string): Promise<unknown> {
  const [doc] = await db.collection(`${PREFIX}page_views`).find({ _id: viewId }).toArray();
  return doc?.flaggedBy;
}

describe('bot sessions on MongoDB without transactions', () => {
  it('a flagging batch replayed after its increments landed moves no new row: the row’s own batch moves it', async () => {
    // The interleaving that needs the rule: V reads the flags (none yet) and is held before it stores v2; the
    // flagging batch F moves v1, lands its increments and dies before the ledger; V stores v2 as a human view
    // and dies before checking the flags again. F's replay must leave v2 alone (its increments are fixed: a
    // move of v2 on the row of v1 would be lost), and V's replay, which finds the flag, moves it.
    const db = new EmulatedDb();
    const { v2, first, late, flag, events } = flaggedSession();
    await mongoStore(db).write(first);
    const insertOf = (call: Call) => call.collection === 'page_views' && call.method === 'bulkWrite';
    const lateWorker = await heldBeforeInsert(db, late, (call) => (insertOf(call) ? 'after' : null));
    const flagWorker = mongoStore(
      chaosDb(db, PREFIX, {
        crash: (call) => (call.collection === 'daily_pages' && call.method === 'bulkWrite' ? 'after' : null),
      }),
    );
    expect(isAnonError(await flagWorker.write(flag).catch((e: unknown) => e), 'store_failed')).toBe(true);
    lateWorker.release();
    expect(isAnonError(await lateWorker.written, 'store_failed')).toBe(true);
    const [stored] = await db.collection(`${PREFIX}page_views`).find({ _id: v2.id }).toArray();
    expect(stored?.isBot, 'v2 was stored human after the flag').toBe(false);

    const healthy = mongoStore(db);
    expect((await healthy.write(flag)).applied).toBe(true);
    expect((await healthy.write(late)).applied).toBe(true);
    await expectConsistent(db, events, 'after both replays');
    expect(await flaggedBy(db, v2.id)).toBe(late.id);
  });

  it('a view written while its session is flagged, between the flag check and the insert, is moved by its own batch', async () => {
    // V reads the flags (none yet) and is held before it stores v2; F stores the flag and moves what it finds
    // (v1, not v2); V then stores v2 as human. V checks the flags again after writing, finds F's, and moves v2.
    const db = new EmulatedDb();
    const { v2, first, late, flag, events } = flaggedSession((v) => [
      metricEvent(fixtureMetric(v, 'time_on_page', 5_000)),
    ]);
    await mongoStore(db).write(first);
    const lateWorker = await heldBeforeInsert(db, late);
    expect((await mongoStore(db).write(flag)).applied).toBe(true);
    lateWorker.release();
    expect(await lateWorker.written).toEqual({ applied: true, written: 2 });
    await expectConsistent(db, events, 'after both');
    expect(await flaggedBy(db, v2.id)).toBe(late.id);
  });

  it('legacy documents: an entry without a count stands for one counted visitor; a row without botAuthenticatedViews reads 0', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    const session = fixtureSession({ userId: 'user-legacy' });
    const views = fixtureVisit(session, ['/', '/a']);
    const [v1, v2] = views as [PageView, PageView];
    await store.write(batchOf(views.map(pageViewEvent)));
    // As the previous version wrote them.
    await db.collection(`${PREFIX}unique_visitors`).updateMany({}, { $unset: { n: '', log: '' } });
    await db.collection(`${PREFIX}daily_pages`).updateMany({}, { $unset: { botAuthenticatedViews: '' } });
    const q = { from: FIXTURE_DAY, to: FIXTURE_DAY, includeBots: true };
    expect((await store.topPages(q)).map((r) => [r.path, r.views, r.authenticatedViews])).toEqual([
      ['/', 1, 1],
      ['/a', 1, 1],
    ]);
    const flagging = { ...v2, id: `${v2.id}-3`, seq: 3, isBot: true, botReasons: ['rate' as const] };
    const events = [...views.map(pageViewEvent), pageViewEvent(flagging), botSessionEvent(flagging)];
    await store.write(batchOf(events.slice(2)));
    await expectConsistent(db, events, 'after the flag');
    expect(
      (await store.topPages(q)).map((r) => [r.path, r.views, r.authenticatedViews, r.anonymousViews]),
    ).toEqual([
      ['/a', 2, 2, 0],
      ['/', 1, 1, 0],
    ]);
    expect(v1.authenticated).toBe(true);
  });

  it('property: events in any order, batches crashed at any write and redelivered later, some written at once, replays — the store ends as the recomputation says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const random = mulberry32(seed);
        const db = new EmulatedDb();
        const healthy = mongoStore(db);
        const events = shuffled(workload(random), random);
        const queue = batchesOf(events, random);
        const redeliver: { batch: EventBatch; after: number }[] = [];
        const completed: EventBatch[] = [];

        /** One delivery: maybe crashing at a random write, its calls held back at random. */
        const deliver = async (batch: EventBatch): Promise<boolean> => {
          const crashAt = random.chance(0.35) ? random.int(1, 13) : 0;
          const mode: CrashMode = random.chance(0.5) ? 'before' : 'after';
          // Latency on the way to the database and back, now and then a long stall: a worker's calls fall
          // between another's, and one's read may be answered long before its next write lands.
          const latency = jitter(() => random.next());
          const worker = mongoStore(
            chaosDb(db, PREFIX, {
              before: latency,
              after: latency,
              crash: (call: Call) => (call.write === crashAt ? mode : null),
            }),
          );
          try {
            await worker.write(batch);
            return true;
          } catch (error) {
            expect(isAnonError(error, 'store_failed'), String(error)).toBe(true);
            return false;
          }
        };

        while (queue.length > 0 || redeliver.length > 0) {
          const due = redeliver.filter((r) => r.after <= 0).map((r) => r.batch);
          for (const r of redeliver) r.after--;
          const group = [...due];
          for (let n = random.int(1, 3); n > 0 && queue.length > 0; n--) group.push(queue.shift()!);
          for (const batch of due)
            redeliver.splice(
              redeliver.findIndex((r) => r.batch === batch),
              1,
            );
          // The batches of a group run at once (never one batch with itself).
          const results = await Promise.all(group.map(deliver));
          results.forEach((ok, i) => {
            const batch = group[i]!;
            if (ok) completed.push(batch);
            else redeliver.push({ batch, after: random.int(0, 2) });
          });
          if (completed.length > 0 && random.chance(0.2)) {
            const again = random.pick(completed);
            expect(await healthy.write(again)).toEqual({ applied: false, written: 0 });
            expect((await healthy.write(batchOf(shuffled(again.events, random)))).written).toBe(0);
          }
        }
        await expectConsistent(db, events, `seed ${seed}`);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
