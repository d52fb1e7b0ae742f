import {
  type AnonEvent,
  type DailyAggregate,
  type EventBatch,
  isAnonError,
  type OverviewFigures,
  type PageMetric,
  type PageView,
  type ReportQuery,
  type Store,
} from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { describe, expect, it } from 'vitest';
import { contractTraffic } from './contract-traffic.js';
import {
  batchOf,
  botSessionEvent,
  DAY_MS,
  FIXTURE_DAY,
  FIXTURE_NOW,
  finalSummary,
  fixtureId,
  fixtureMetric,
  fixtureSession,
  fixtureView,
  fixtureVisit,
  fixtureVisitorKey,
  metricEvent,
  pageViewEvent,
  sessionEvent,
} from './fixtures.js';
import type { Traffic, TrafficOptions } from './generate-traffic.js';
import { type StoreHarness, type StoreProbe, storePerTest } from './harness.js';
import type { RegisterCheck } from './live-reports-contract.js';
import { mergeSessionSummary } from './merge-session.js';
import { mulberry32, type Random } from './random.js';
import { computeTruth, type TruthData, withBotSessions } from './traffic-truth.js';

// Bot sessions (docs/semantics.md, "Bot sessions"): once the rate check flags a session, its `botsession` event
// moves every stored page view and metric of it from the human counts to the bots', and every row of it
// written later is a bot's from the start. Whatever the order the rows and the event arrive in, and however
// often they are replayed, the aggregates equal `recomputeAggregates` of the stored rows, and every report
// that splits page views by login keeps views = authenticated + anonymous, with or without bots.

/** What the bot-session checks need from a harness: the store (reports when `reports` is on), its probe. */
export interface BotSessionHarness {
  store: Store;
  probe: StoreProbe;
}

const EMPTY: TruthData = { views: [], metrics: [], sessions: [], conversions: [] };

/** Asserts views = authenticatedViews + anonymousViews on every row a report splits by login. */
export function expectViewsSplitByLogin(
  report: {
    topPages?: { path: string; views: number; authenticatedViews: number; anonymousViews: number }[];
  },
  overview: { days: (OverviewFigures & { day: string })[]; total: OverviewFigures } | null,
  label: string,
): void {
  for (const row of report.topPages ?? []) {
    expect(row.authenticatedViews + row.anonymousViews, `${label}: topPages ${row.path}`).toBe(row.views);
  }
  if (overview === null) return;
  for (const d of [...overview.days, { ...overview.total, day: 'total' }]) {
    expect(d.authenticatedViews + d.anonymousViews, `${label}: overview ${d.day}`).toBe(d.pageViews);
  }
}

/** Aggregate rows with some count: a row of zeros reads as no row in every report but `aggregates`. */
function withoutEmptyRows(rows: DailyAggregate[]): DailyAggregate[] {
  return rows.filter((row) => Object.values(row).some((value) => typeof value === 'number' && value !== 0));
}

/** Asserts the stored rows flagged bot are exactly those of `data` (when the probe can read the flags). */
async function expectBotRows(probe: StoreProbe, data: TruthData, label: string): Promise<void> {
  if (probe.botRowIds === undefined) return;
  const flags = await probe.botRowIds();
  expect([...flags.pageViews].sort(), `${label}: bot page views`).toEqual(
    data.views
      .filter((v) => v.isBot)
      .map((v) => v.id)
      .sort(),
  );
  expect([...flags.metrics].sort(), `${label}: bot metrics`).toEqual(
    data.metrics
      .filter((m) => m.isBot)
      .map((m) => `${m.viewId}:${m.metric}`)
      .sort(),
  );
}

/** topPages, aggregates, overview, bots and sessions of `store` against the truth over `data`, bots or not. */
async function expectReportsOf(store: Store, data: TruthData, from: string, to: string, label: string) {
  const truth = computeTruth(data);
  for (const includeBots of [false, true]) {
    const q: ReportQuery = { from, to, includeBots, limit: 1_000 };
    const at = `${label}${includeBots ? ' with bots' : ''}`;
    const topPages = await store.topPages(q);
    const overview = await store.overview(q);
    expect(topPages, `${at}: topPages`).toEqual(truth.topPages(q));
    expect(overview, `${at}: overview`).toEqual(truth.overview(q));
    expect(await store.aggregates(q), `${at}: aggregates`).toEqual(truth.aggregates(q));
    expect(await store.bots(q), `${at}: bots`).toEqual(truth.bots(q));
    expect(await store.sessions(q), `${at}: sessions`).toEqual(truth.sessions(q));
    expectViewsSplitByLogin({ topPages }, overview, at);
  }
}

/** Rows written so far, deduplicated by id (the first write wins, as in a store). */
class Written {
  readonly views = new Map<string, PageView>();
  readonly metrics = new Map<string, PageMetric>();
  readonly flagged = new Set<string>();

  add(events: readonly AnonEvent[]): void {
    for (const e of events) {
      if (e.type === 'pageview' && !this.views.has(e.view.id)) this.views.set(e.view.id, e.view);
      if (e.type === 'metric' && !this.metrics.has(e.id)) this.metrics.set(e.id, e.metric);
      if (e.type === 'botsession') this.flagged.add(e.botSession.sessionId);
    }
  }

  /** What the store holds: the rows written, those of flagged sessions as bots. */
  held(): TruthData {
    return withBotSessions(
      { ...EMPTY, views: [...this.views.values()], metrics: [...this.metrics.values()] },
      this.flagged,
    );
  }
}

/**
 * Sessions as the engine writes them, some turned into bot sessions by the rate check part-way: their views
 * from the flagging one on are bot views (reason `rate`) and carry the `botsession` event; the metrics of a
 * view are bots' when the view was. Two days, a few visitors sharing paths (so a visitor's human views of a
 * path may or may not all be in a flagged session), and one aggregate-only view.
 */
function botSessionWorkload(random: Random): AnonEvent[] {
  const visitors = [fixtureVisitorKey(), fixtureVisitorKey(), fixtureVisitorKey()];
  const paths = ['/', '/x', '/y', '/z'];
  const events: AnonEvent[] = [];
  for (let n = random.int(4, 6); n > 0; n--) {
    const startedAt = FIXTURE_NOW + random.int(0, 1) * DAY_MS + random.int(0, 3_600) * 1_000;
    const userId = random.chance(0.3) ? `user-${random.hex(6)}` : null;
    const session = fixtureSession({
      startedAt,
      visitorKey: random.pick(visitors),
      userId,
      device: random.pick(['desktop', 'mobile', 'tablet'] as const),
    });
    const count = random.int(1, 7);
    const flagAt = random.chance(0.6) ? random.int(0, count - 1) : count;
    const views = fixtureVisit(
      session,
      Array.from({ length: count }, () => random.pick(paths)),
      random.int(100, 20_000),
    ).map((v, i) => (i >= flagAt ? { ...v, isBot: true, botReasons: ['rate' as const] } : v));
    views.forEach((view, i) => {
      events.push(pageViewEvent(view));
      if (i === flagAt && i > 0) events.push(botSessionEvent(view));
      const next = views[i + 1];
      if (next !== undefined)
        events.push(metricEvent(fixtureMetric(view, 'time_on_page', next.at - view.at)));
      if (random.chance(0.4))
        events.push(metricEvent(fixtureMetric(view, 'scroll_depth', random.int(1, 100))));
      if (random.chance(0.3)) events.push(metricEvent(fixtureMetric(view, 'interactions', random.int(1, 9))));
    });
    const summary = { ...finalSummary(session, views), isBot: flagAt < count };
    events.push(sessionEvent(summary));
  }
  events.push(pageViewEvent(fixtureView({ sessionId: null, visitorKey: null, seq: 0, path: '/x' })));
  return events;
}

/**
 * Registers the bot-session checks of the store contract (run by `storeContract` on every store; the report
 * parts only when `reports` is on). To run them alone use {@link botSessionContract}.
 */
export function registerBotSessionChecks(
  check: RegisterCheck,
  writerCheck: RegisterCheck,
  h: () => BotSessionHarness,
  traffic: () => Traffic,
  reports: boolean,
  timeout: number,
): void {
  check(
    "a session flagged by rate moves its earlier human views and metrics to the bots' counts, in the aggregates and every report",
    async () => {
      const { store, probe } = h();
      const visitor = fixtureVisitorKey();
      // The session the rate check flags on its fifth view; the visitor logs in on the third.
      const flagged = fixtureSession({ visitorKey: visitor, device: 'mobile', startedAt: FIXTURE_NOW });
      const views = fixtureVisit(flagged, ['/a', '/b', '/a', '/c', '/a', '/d'], 5_000).map((v, i) => ({
        ...v,
        ...(i >= 2 ? { userId: 'user-flagged', authenticated: true } : {}),
        ...(i >= 4 ? { isBot: true, botReasons: ['rate' as const] } : {}),
      }));
      const [v1, v2, v3, v4, v5] = views as [PageView, PageView, PageView, PageView, PageView];
      const metrics = [
        fixtureMetric(v1, 'time_on_page', 5_000),
        fixtureMetric(v1, 'scroll_depth', 50),
        fixtureMetric(v2, 'time_on_page', 5_000),
        fixtureMetric(v2, 'interactions', 3),
        fixtureMetric(v3, 'time_on_page', 5_000),
        fixtureMetric(v4, 'time_on_page', 5_000),
        fixtureMetric(v5, 'time_on_page', 5_000),
      ];
      const firstSummary = finalSummary(flagged, [v1]);
      const lastSummary = { ...finalSummary(flagged, views), userId: 'user-flagged', isBot: true };
      // The same visitor later that day, human: it keeps the visitor among the unique visitors of /a.
      const again = fixtureSession({ visitorKey: visitor, startedAt: FIXTURE_NOW + 2 * 3_600_000 });
      const againViews = fixtureVisit(again, ['/a']);
      // Someone else, and a crawler.
      const other = fixtureSession({ startedAt: FIXTURE_NOW + 1_000 });
      const otherViews = fixtureVisit(other, ['/b', '/a']);
      const crawler = fixtureSession({ startedAt: FIXTURE_NOW + 3_000, isBot: true });
      const crawlerViews = fixtureVisit(crawler, ['/c']);
      const otherMetric = fixtureMetric(otherViews[0] as PageView, 'time_on_page', 10_000);
      const otherSummaries = [
        finalSummary(again, againViews),
        finalSummary(other, otherViews),
        finalSummary(crawler, crawlerViews),
      ];
      const event = botSessionEvent(v5);

      // The rows before the event, but for v2 and its metrics, which arrive after it (batches reorder).
      const late = [v2];
      const lateMetrics = metrics.filter((m) => m.viewId === v2.id);
      const early: AnonEvent[] = [
        ...views.filter((v) => v !== v2).map(pageViewEvent),
        ...metrics.filter((m) => m.viewId !== v2.id).map(metricEvent),
        sessionEvent(firstSummary),
        ...[...againViews, ...otherViews, ...crawlerViews].map(pageViewEvent),
        metricEvent(otherMetric),
        ...otherSummaries.map(sessionEvent),
      ];
      await store.write(batchOf(early));
      const allViews = [...views, ...againViews, ...otherViews, ...crawlerViews];
      const allMetrics = [...metrics, otherMetric];
      const before = allViews.filter((v) => v !== v2);
      expect(await probe.aggregates(), 'before the event').toEqual(
        recomputeAggregates(
          before,
          allMetrics.filter((m) => m.viewId !== v2.id),
        ),
      );
      expect((await probe.aggregates()).find((r) => r.path === '/c')).toMatchObject({
        views: 1,
        uniqueVisitors: 1,
        botViews: 1,
      });

      await store.write(batchOf([event]));
      const held = withBotSessions(
        { ...EMPTY, views: before, metrics: allMetrics.filter((m) => m.viewId !== v2.id) },
        new Set([flagged.id]),
      );
      expect(await probe.aggregates(), 'after the event').toEqual(
        recomputeAggregates(held.views, held.metrics),
      );
      // The event is idempotent by its id: written again, it changes nothing.
      expect(await store.write(batchOf([event]))).toEqual({ applied: true, written: 0 });
      expect(await probe.aggregates(), 'after the event replayed').toEqual(
        recomputeAggregates(held.views, held.metrics),
      );
      if (reports) {
        // Its only stored summary is the first view's, which said human: the reports that select sessions by
        // summary see a bot session as soon as the event is stored.
        const q = { from: FIXTURE_DAY, to: FIXTURE_DAY };
        const human = (rows: { sessions: number }[]) => rows.reduce((n, r) => n + r.sessions, 0);
        expect(human(await store.referrers(q)), 'referrers with a stale summary').toBe(2);
        expect(human((await store.devices(q)).devices), 'devices with a stale summary').toBe(2);
        expect((await store.conversions(q)).visitorSessions, 'visitor sessions with a stale summary').toBe(2);
      }

      // A row of the flagged session written after the event is a bot's from the start.
      await store.write(batchOf([...late.map(pageViewEvent), ...lateMetrics.map(metricEvent)]));
      await store.write(batchOf([sessionEvent(lastSummary)]));
      const final: TruthData = {
        ...withBotSessions({ ...EMPTY, views: allViews, metrics: allMetrics }, new Set([flagged.id])),
        sessions: [mergeSessionSummary(firstSummary, lastSummary), ...otherSummaries],
      };
      const rows = await probe.aggregates();
      expect(rows, 'after a late view').toEqual(recomputeAggregates(final.views, final.metrics));
      // Pinned by hand, so the model itself is checked: /a keeps the visitor (a human view of the later
      // session), /c loses it (its one human view was the flagged session's).
      expect(rows.find((r) => r.path === '/a')).toMatchObject({
        views: 2,
        authenticatedViews: 0,
        anonymousViews: 2,
        uniqueVisitors: 2,
        mobileViews: 0,
        botViews: 3,
        botAuthenticatedViews: 2,
        timeOnPageCount: 0,
        scrollDepthCount: 0,
      });
      expect(rows.find((r) => r.path === '/b')).toMatchObject({
        views: 1,
        uniqueVisitors: 1,
        botViews: 1,
        botAuthenticatedViews: 0,
        timeOnPageSumMs: 10_000,
        timeOnPageCount: 1,
        interactions: 0,
      });
      expect(rows.find((r) => r.path === '/c')).toMatchObject({
        views: 0,
        uniqueVisitors: 0,
        botViews: 2,
        botAuthenticatedViews: 1,
      });
      await expectBotRows(probe, final, 'after a late view');
      if (!reports) return;
      await expectReportsOf(store, final, FIXTURE_DAY, FIXTURE_DAY, 'flagged session');
      const q = { from: FIXTURE_DAY, to: FIXTURE_DAY };
      expect((await store.topPages(q)).map((r) => [r.path, r.views])).toEqual([
        ['/a', 2],
        ['/b', 1],
      ]);
      expect(
        (await store.topPages({ ...q, includeBots: true })).map((r) => [
          r.path,
          r.views,
          r.authenticatedViews,
          r.anonymousViews,
        ]),
      ).toEqual([
        ['/a', 5, 2, 3],
        ['/b', 2, 0, 2],
        ['/c', 2, 1, 1],
        ['/d', 1, 1, 0],
      ]);
      expect(await store.bots(q)).toMatchObject({ views: 7, sessions: 2 });
    },
    timeout,
  );

  check(
    'with the botsession event before, between and after its rows, in random order and replayed, the aggregates equal recomputeAggregates of the stored rows',
    async () => {
      const { store, probe } = h();
      const written = new Written();
      const random = mulberry32(0xb075);
      for (let round = 0; round < 3; round++) {
        const events = botSessionWorkload(random);
        for (let i = events.length - 1; i > 0; i--) {
          const j = random.int(0, i);
          [events[i], events[j]] = [events[j] as AnonEvent, events[i] as AnonEvent];
        }
        const batches: EventBatch[] = [];
        for (let i = 0; i < events.length; ) {
          const size = random.int(1, 4);
          batches.push(batchOf(events.slice(i, i + size)));
          i += size;
        }
        const sent: AnonEvent[] = [];
        for (const [n, batch] of batches.entries()) {
          await store.write(batch);
          written.add(batch.events);
          sent.push(...batch.events);
          if (random.chance(0.3)) {
            // Replays: events already written, under a new batch id, in another order; or the batch again.
            const replay = Array.from({ length: random.int(1, 4) }, () => random.pick(sent));
            expect((await store.write(batchOf(replay))).written, 'a replay writes nothing').toBe(0);
          } else if (random.chance(0.2)) {
            expect(await store.write(batch)).toEqual({ applied: false, written: 0 });
          }
          // Mid-round, a human metric counted before its view was stored may leave a row of zeros once its
          // session is flagged (the row stays; the recomputation has no row for a bot metric): compared without.
          const held = written.held();
          expect(withoutEmptyRows(await probe.aggregates()), `round ${round}, batch ${n}`).toEqual(
            withoutEmptyRows(recomputeAggregates(held.views, held.metrics)),
          );
        }
        // Every row of the round written: exact.
        const held = written.held();
        expect(await probe.aggregates(), `round ${round}`).toEqual(
          recomputeAggregates(held.views, held.metrics),
        );
        expect(written.flagged.size, 'the workload flags sessions').toBeGreaterThan(0);
      }
      const held = written.held();
      await expectBotRows(probe, held, 'after the random rounds');
      if (!reports) return;
      // The truth has no summaries: only the reports of page views are compared with it.
      const truth = computeTruth(held);
      for (const includeBots of [false, true]) {
        const q: ReportQuery = { from: FIXTURE_DAY, to: '2026-01-16', includeBots, limit: 1_000 };
        const topPages = await store.topPages(q);
        expect(topPages, `topPages${includeBots ? ' with bots' : ''}`).toEqual(truth.topPages(q));
        expect(await store.bots(q)).toMatchObject({
          views: truth.bots(q).views,
          topPaths: truth.bots(q).topPaths,
        });
        expectViewsSplitByLogin(
          { topPages },
          await store.overview(q),
          `random rounds${includeBots ? ' with bots' : ''}`,
        );
      }
    },
    timeout,
  );

  check(
    'views = authenticatedViews + anonymousViews in topPages and overview, with and without bots, on generated traffic',
    async () => {
      const t = traffic();
      for (const batch of t.batches) await h().store.write(batch);
      const held: TruthData = { views: t.views, metrics: t.metrics, sessions: [], conversions: [] };
      expect(await h().probe.aggregates()).toEqual(recomputeAggregates(held.views, held.metrics));
      await expectBotRows(h().probe, held, 'generated traffic');
      expect(
        t.views.some((v) => v.isBot && v.authenticated),
        'the traffic has authenticated bot views',
      ).toBe(true);
      if (!reports) return;
      const truth = t.truth;
      for (const [from, to] of [[t.from, t.to] as const, ...t.days.map((d) => [d, d] as const)]) {
        for (const includeBots of [false, true]) {
          for (const path of [undefined, '/posts/*']) {
            const q: ReportQuery = {
              from,
              to,
              includeBots,
              limit: 1_000,
              ...(path === undefined ? {} : { path }),
            };
            const label = `${from}..${to}${includeBots ? ' with bots' : ''}${path === undefined ? '' : ` ${path}`}`;
            const topPages = await h().store.topPages(q);
            const overview = await h().store.overview(q);
            expect(topPages, `topPages ${label}`).toEqual(truth.topPages(q));
            expect(overview, `overview ${label}`).toEqual(truth.overview(q));
            expectViewsSplitByLogin({ topPages }, overview, label);
          }
        }
      }
    },
    timeout,
  );

  writerCheck(
    'a botsession event that is not well formed is refused with invalid_input, and its batch changes nothing',
    async () => {
      const { store, probe } = h();
      const view = fixtureView();
      const valid = botSessionEvent(view);
      const body = (valid as Extract<AnonEvent, { type: 'botsession' }>).botSession;
      const bad: unknown[] = [
        { ...body, sessionId: { $ne: null } },
        { ...body, sessionId: '' },
        { ...body, sessionId: 42 },
        { ...body, day: '2026-02-30' },
        { ...body, at: Number.NaN },
        { ...body, at: '1' },
        null,
      ];
      for (const botSession of bad) {
        const batch = batchOf([
          pageViewEvent(view),
          { type: 'botsession', id: fixtureId(), botSession } as AnonEvent,
        ]);
        const err = await store.write(batch).catch((e: unknown) => e);
        expect(isAnonError(err, 'invalid_input'), JSON.stringify(botSession)).toBe(true);
      }
      expect(await probe.pageViewIds()).toEqual([]);
      expect(await probe.aggregates()).toEqual([]);
      // A well-formed event of a session the store has never seen is stored, and flags its rows to come.
      expect(await store.write(batchOf([valid]))).toEqual({ applied: true, written: 1 });
      await store.write(batchOf([pageViewEvent(view)]));
      expect(await probe.aggregates()).toEqual(
        recomputeAggregates([{ ...view, isBot: true, botReasons: ['rate'] }], []),
      );
    },
    timeout,
  );
}

/** Options of {@link botSessionContract}. */
export interface BotSessionContractOptions {
  /**
   * Shape of the generated traffic (the seed is fixed so a failure replays).
   * @default { seed: 20260115, visitors: 30, days: 3 }
   */
  traffic?: Partial<TrafficOptions>;
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
}

/**
 * The bot-session checks alone, as a vitest `describe` block (`storeContract` runs them too). `create` is
 * called once per test and returns an isolated, empty store with its probe.
 * @example
 * botSessionContract('my-store', async () => ({ store: myStore(db), probe: myProbe(db), cleanup: () => db.drop() }));
 */
export function botSessionContract(
  name: string,
  create: () => Promise<StoreHarness>,
  options: BotSessionContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const traffic = contractTraffic(options.traffic);
  describe(`bot-session contract: ${name}`, () => {
    const h = storePerTest(create, timeout);
    const check: RegisterCheck = (label, body, ms) => it(label, body, ms);
    registerBotSessionChecks(check, check, h, traffic, true, timeout);
  });
}
