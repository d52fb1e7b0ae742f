import {
  type AnonEvent,
  type DailyAggregate,
  type EventBatch,
  isAnonError,
  LIMITS,
  type PageMetric,
  type PageView,
  type ReportQuery,
  type Session,
} from '@anon/core';
import { MAX_FUNNEL_STEPS, recomputeAggregates } from '@anon/core/adapter';
import { describe, expect, it } from 'vitest';
import { registerBotSessionChecks } from './bot-session-contract.js';
import { registerClaimDailyJobChecks } from './claim-daily-job-contract.js';
import { contractTraffic } from './contract-traffic.js';
import { erasureContract } from './erasure-contract.js';
import { expectReportsEqual, readReports } from './expect-reports.js';
import {
  batchOf,
  conversionEvent,
  DAY_MS,
  FIXTURE_DAY,
  FIXTURE_NOW,
  finalSummary,
  fitTo,
  fixtureConversion,
  fixtureId,
  fixtureMetric,
  fixtureSession,
  fixtureView,
  fixtureVisit,
  fixtureVisitorKey,
  HOSTILE_STRINGS,
  metricEvent,
  pageViewEvent,
  sessionEvent,
} from './fixtures.js';
import type { TrafficOptions } from './generate-traffic.js';
import { type StoreHarness, type StoreProbe, type StoreWriterHarness, storePerTest } from './harness.js';
import { registerLiveReportChecks } from './live-reports-contract.js';
import { mergeSessionSummary } from './merge-session.js';
import { registerPurgeRollupChecks } from './purge-rollup-contract.js';
import { mulberry32 } from './random.js';
import { computeTruth, type ReportExtras } from './traffic-truth.js';

/** What a store under test cannot do, and how big the generated workload is. */
export interface StoreContractOptions {
  /**
   * Shape of the generated traffic the report checks run on (the seed is fixed so a failure replays).
   * @default { seed: 20260115, visitors: 30, days: 3 }
   */
  traffic?: Partial<TrafficOptions>;
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
  /** The store implements `purge(before, { dryRun: true })`. @default true */
  purgeDryRun?: boolean;
  /** The store implements `claimDailyJob` (the worker's automatic retention needs it). @default true */
  claimDailyJob?: boolean;
}

/** Every row kind the probe can read, for before/after comparisons. */
interface Snapshot {
  pageViewIds: string[];
  metricIds: string[];
  conversionIds: string[];
  aggregates: DailyAggregate[];
  sessions: (Session | null)[];
}

async function snapshot(probe: StoreProbe, sessionIds: string[]): Promise<Snapshot> {
  const sorted = (ids: string[]) => [...ids].sort();
  return {
    pageViewIds: sorted(await probe.pageViewIds()),
    metricIds: sorted(await probe.metricIds()),
    conversionIds: sorted(await probe.conversionIds()),
    aggregates: await probe.aggregates(),
    sessions: await Promise.all(sessionIds.map((id) => probe.session(id))),
  };
}

const EVERYTHING: ReportQuery = { from: '0001-01-01', to: '9999-12-31', limit: 100_000 };

/**
 * `count` distinct paths built from characters on both sides of the UTF-16 / code-point disagreement:
 * ASCII, U+E000–U+FFFD and astral (surrogate-pair) characters. Seeded, so a failure replays.
 */
function unicodePaths(count: number): string[] {
  const random = mulberry32(0xe000);
  const unit = (): string => {
    const kind = random.int(0, 2);
    if (kind === 0) return String.fromCodePoint(random.int(0x61, 0x7a));
    if (kind === 1) return String.fromCodePoint(random.int(0xe000, 0xfffd));
    return String.fromCodePoint(random.int(0x10000, 0x10ffff));
  };
  const paths = new Set<string>();
  while (paths.size < count) {
    let path = '/';
    for (let n = random.int(1, 4); n > 0; n--) path += unit();
    paths.add(path);
  }
  return [...paths];
}

/** Writes each batch and fails loudly if the store refuses one. */
async function writeAll(harness: StoreHarness, batches: EventBatch[]): Promise<void> {
  for (const batch of batches) await harness.store.write(batch);
}

/** Which parts of the contract a `describe` block runs. */
interface ContractParts {
  /** Writes checked through the probe: idempotency, merges, aggregates, visitorSessions, purge. */
  writer: boolean;
  /** Reports checked against brute-force truth (on data written through `write`). */
  reports: boolean;
}

/**
 * Registers the whole store contract as a vitest `describe` block: {@link storeWriterContract} and
 * {@link reportsContract} in one. `create` is called once per test and must return an isolated, empty store
 * with a probe that reads the database directly (not through the store).
 * @example
 * storeContract('postgres', async () => {
 *   const schema = await freshSchema();
 *   return { store: postgresStore(pool, { schema }), probe: pgProbe(pool, schema), cleanup: () => dropSchema(schema) };
 * });
 */
export function storeContract(
  name: string,
  create: () => Promise<StoreHarness>,
  options: StoreContractOptions = {},
): void {
  registerContract(`store contract: ${name}`, create, options, { writer: true, reports: true });
}

/**
 * The write side of the store contract alone, for a store that has no reports yet: every check reads the raw
 * database through the probe. Run it first while writing a store, then {@link reportsContract} (or
 * {@link storeContract} for both).
 * @example
 * storeWriterContract('my-store', async () => ({ store: myStore(db), probe: myProbe(db), cleanup: () => db.drop() }));
 */
export function storeWriterContract(
  name: string,
  create: () => Promise<StoreWriterHarness>,
  options: StoreContractOptions = {},
): void {
  // Safe: with `reports` off, no test calls a report method.
  const writerOnly = create as () => Promise<StoreHarness>;
  registerContract(`store writer contract: ${name}`, writerOnly, options, { writer: true, reports: false });
}

/**
 * The reports half of the store contract: every report against brute-force truth, on data written through
 * `write` (so the store needs both sides), and the write checks that end by reading a report.
 */
export function reportsContract(
  name: string,
  create: () => Promise<StoreHarness>,
  options: StoreContractOptions = {},
): void {
  registerContract(`reports contract: ${name}`, create, options, { writer: false, reports: true });
}

function registerContract(
  title: string,
  create: () => Promise<StoreHarness>,
  options: StoreContractOptions,
  parts: ContractParts,
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const traffic = contractTraffic(options.traffic);
  const when =
    (on: boolean) =>
    (label: string, body: () => Promise<void>, ms: number): void => {
      if (on) it(label, body, ms);
    };
  const writerIt = when(parts.writer);
  const reportsIt = when(parts.reports);
  // Writes checked through the probe and then, when reports run too, read back through a report.
  const mixedIt = when(parts.writer || parts.reports);

  describe(title, () => {
    const h = storePerTest(create, timeout);

    if (parts.writer) erasureContract(h, timeout);

    writerIt(
      'stores page views, metrics, sessions and conversions where the probe can read them',
      async () => {
        const { store, probe } = h();
        const session = fixtureSession({
          referrer: 'https://www.google.com/',
          referrerHost: 'www.google.com',
        });
        const views = fixtureVisit(session, ['/', '/pricing']);
        const summary = finalSummary(session, views);
        const [v1, v2] = views as [PageView, PageView];
        const metrics = [fixtureMetric(v1, 'time_on_page', 60_000), fixtureMetric(v2, 'scroll_depth', 80)];
        const first = await store.write(
          batchOf([...views.map(pageViewEvent), ...metrics.map(metricEvent), sessionEvent(summary)]),
        );
        expect(first).toEqual({ applied: true, written: 5 });
        const conversion = fixtureConversion('user-1', [summary], v2.at + 30_000);
        expect(await store.write(batchOf([conversionEvent(conversion)]))).toEqual({
          applied: true,
          written: 1,
        });

        expect((await probe.pageViewIds()).sort()).toEqual([v1.id, v2.id].sort());
        expect((await probe.metricIds()).sort()).toEqual(
          [`${v1.id}:time_on_page`, `${v2.id}:scroll_depth`].sort(),
        );
        expect(await probe.conversionIds()).toEqual([conversion.id]);
        expect(await probe.session(session.id)).toEqual({
          ...summary,
          convertedUserId: 'user-1',
          convertedAt: conversion.at,
        });
        expect(await probe.session(fixtureId())).toBeNull();
        expect(await probe.aggregates()).toEqual(recomputeAggregates(views, metrics));
        expect(await probe.aggregates()).toEqual([
          expect.objectContaining({
            day: FIXTURE_DAY,
            path: '/',
            views: 1,
            uniqueVisitors: 1,
            timeOnPageSumMs: 60_000,
          }),
          expect.objectContaining({ day: FIXTURE_DAY, path: '/pricing', views: 1, scrollDepthSum: 80 }),
        ]);
      },
      timeout,
    );

    writerIt(
      'init takes the tracker settings again, and refuses ones it cannot honour with invalid_config',
      async () => {
        const { store } = h();
        if (store.init === undefined) return;
        await store.init({ timeZone: 'Europe/Paris', retentionDays: 30 });
        for (const bad of [
          { timeZone: 'Mars/Olympus', retentionDays: 30 },
          { timeZone: 'UTC', retentionDays: 0 },
        ]) {
          const err = await (async () => store.init?.(bad))().catch((e: unknown) => e);
          expect(isAnonError(err, 'invalid_config'), JSON.stringify(bad)).toBe(true);
        }
      },
      timeout,
    );

    writerIt(
      'a batch id already applied changes nothing',
      async () => {
        const { store, probe } = h();
        const session = fixtureSession();
        const views = fixtureVisit(session, ['/a', '/b', '/a']);
        const batch = batchOf([
          ...views.map(pageViewEvent),
          metricEvent(fixtureMetric(views[0] as PageView, 'time_on_page', 1_000)),
          sessionEvent(finalSummary(session, views)),
        ]);
        expect((await store.write(batch)).applied).toBe(true);
        const before = await snapshot(probe, [session.id]);
        expect(await store.write(batch)).toEqual({ applied: false, written: 0 });
        // The ledger works by id: even a batch that now carries new events is not applied again.
        const extra = fixtureView({ path: '/late' });
        expect(await store.write({ id: batch.id, events: [pageViewEvent(extra)] })).toEqual({
          applied: false,
          written: 0,
        });
        expect(await snapshot(probe, [session.id])).toEqual(before);
      },
      timeout,
    );

    writerIt(
      'the same events in a new batch change nothing (idempotent by event id)',
      async () => {
        const { store, probe } = h();
        const session = fixtureSession();
        const views = fixtureVisit(session, ['/', '/docs/:section']);
        const summary = finalSummary(session, views);
        const metrics = [fixtureMetric(views[0] as PageView, 'time_on_page', 42_000)];
        const conversion = fixtureConversion('user-idem', [summary], summary.lastSeenAt + 1_000);
        const rowEvents: AnonEvent[] = [
          ...views.map(pageViewEvent),
          ...metrics.map(metricEvent),
          conversionEvent(conversion),
        ];
        await store.write(batchOf([...rowEvents.slice(0, 2), sessionEvent(summary)]));
        await store.write(batchOf(rowEvents.slice(2)));
        const before = await snapshot(probe, [session.id]);
        expect(await store.write(batchOf(rowEvents))).toEqual({ applied: true, written: 0 });
        await store.write(batchOf([...rowEvents, sessionEvent(summary)].reverse()));
        expect(await snapshot(probe, [session.id])).toEqual(before);
      },
      timeout,
    );

    writerIt(
      'replaying batches, in any order and under new ids, leaves every row and aggregate unchanged',
      async () => {
        const { store, probe } = h();
        const t = traffic();
        await writeAll(h(), t.batches);
        const sessionIds = t.sessions.map((s) => s.id);
        const before = await snapshot(probe, sessionIds);
        expect(before.aggregates).toEqual(t.truth.aggregates(EVERYTHING));
        for (const batch of [...t.batches].reverse()) {
          expect(await store.write(batch)).toEqual({ applied: false, written: 0 });
        }
        const random = mulberry32(99);
        const events = t.batches.flatMap((b) => b.events);
        for (let i = events.length - 1; i > 0; i--) {
          const j = random.int(0, i);
          [events[i], events[j]] = [events[j] as AnonEvent, events[i] as AnonEvent];
        }
        for (let i = 0; i < events.length; i += 25) await store.write(batchOf(events.slice(i, i + 25)));
        expect(await snapshot(probe, sessionIds)).toEqual(before);
      },
      timeout,
    );

    writerIt(
      'out-of-order and repeated session summaries converge to the monotonic merge',
      async () => {
        const { store, probe } = h();
        const start = FIXTURE_NOW;
        const first = fixtureSession({
          startedAt: start,
          exitPath: '/',
          landingPath: '/',
          referrerHost: 't.co',
        });
        const fifth: Session = {
          ...first,
          lastSeenAt: start + 4 * 60_000,
          durationMs: 4 * 60_000,
          pageViews: 5,
          exitPath: '/e',
          userId: 'user-m',
        };
        const last: Session = {
          ...fifth,
          lastSeenAt: start + 6 * 60_000,
          endedAt: start + 6 * 60_000,
          durationMs: 6 * 60_000,
          pageViews: 7,
          exitPath: '/g',
          isBot: true,
        };
        const expected: Session = { ...last, userId: 'user-m', isBot: true };
        const orders: Session[][] = [
          [first, fifth, last],
          [last, first, fifth, first],
          [fifth, last, fifth, first, last],
        ];
        for (const order of orders) {
          const id = fixtureId(start);
          for (const summary of order) await store.write(batchOf([sessionEvent({ ...summary, id })]));
          expect(await probe.session(id)).toEqual({ ...expected, id });
        }
      },
      timeout,
    );

    writerIt(
      'a session keeps its first-written fields, its first user id and, on ties, its stored exit path',
      async () => {
        const { store, probe } = h();
        const stored = fixtureSession({
          pageViews: 3,
          lastSeenAt: FIXTURE_NOW + 120_000,
          landingPath: '/first',
          exitPath: '/stored-exit',
          referrerHost: 'news.ycombinator.com',
          userId: 'user-a',
        });
        const tie: Session = {
          ...stored,
          landingPath: '/other',
          exitPath: '/incoming-exit',
          referrerHost: 'evil.example',
          userId: 'user-b',
          device: 'mobile',
        };
        await store.write(batchOf([sessionEvent(stored)]));
        await store.write(batchOf([sessionEvent(tie)]));
        expect(await probe.session(stored.id)).toEqual(mergeSessionSummary(stored, tie));
        expect(await probe.session(stored.id)).toEqual(stored);
      },
      timeout,
    );

    writerIt(
      'the conversion pair (convertedUserId, convertedAt) moves together',
      async () => {
        const { store, probe } = h();
        // A stored time with no user is no conversion: the incoming pair replaces both fields.
        const timeOnly = fixtureSession({ convertedAt: FIXTURE_NOW - 5 });
        const converted = { ...timeOnly, convertedUserId: 'user-p', convertedAt: FIXTURE_NOW + 5 };
        // A stored conversion keeps its own time against another conversion's pair.
        const first = fixtureSession({ convertedUserId: 'user-1', convertedAt: FIXTURE_NOW + 1 });
        const second = { ...first, convertedUserId: 'user-2', convertedAt: FIXTURE_NOW + 2 };
        for (const [stored, incoming] of [
          [timeOnly, converted],
          [first, second],
        ] as const) {
          await store.write(batchOf([sessionEvent(stored)]));
          await store.write(batchOf([sessionEvent(incoming)]));
          const expected = mergeSessionSummary(stored, incoming);
          expect(await probe.session(stored.id)).toEqual(expected);
          expect([expected.convertedUserId, expected.convertedAt]).toEqual(
            incoming === converted ? ['user-p', FIXTURE_NOW + 5] : ['user-1', FIXTURE_NOW + 1],
          );
        }
      },
      timeout,
    );

    writerIt(
      "stored sessions equal core's mergeSession folded over random summaries in random order",
      async () => {
        const { store, probe } = h();
        const random = mulberry32(0x5e55);
        const maybe = <T>(value: T): T | null => (random.chance(0.5) ? value : null);
        const folded = new Map<string, Session>();
        const events: AnonEvent[] = [];
        for (let n = 0; n < 12; n++) {
          const base = fixtureSession({ startedAt: FIXTURE_NOW });
          for (let k = random.int(1, 4); k > 0; k--) {
            const startedAt = FIXTURE_NOW + random.int(0, 3) * 60_000;
            const lastSeenAt = startedAt + random.int(0, 5) * 60_000;
            const convertedUserId = maybe(random.pick(['user-x', 'user-y']));
            const summary: Session = {
              ...base,
              startedAt,
              lastSeenAt,
              durationMs: lastSeenAt - startedAt,
              endedAt: maybe(lastSeenAt),
              pageViews: random.int(1, 6),
              landingPath: random.pick(['/', '/a', '/b']),
              exitPath: random.pick(['/', '/x', '/y', '/z']),
              referrerHost: maybe(random.pick(['t.co', 'example.org'])),
              userId: maybe(random.pick(['user-1', 'user-2'])),
              isBot: random.chance(0.2),
              convertedUserId,
              convertedAt: convertedUserId === null ? maybe(FIXTURE_NOW + 1) : FIXTURE_NOW + random.int(2, 9),
            };
            folded.set(base.id, mergeSessionSummary(folded.get(base.id) ?? null, summary));
            events.push({ ...sessionEvent(summary), id: fixtureId() });
          }
        }
        // Some summaries alone, some with others of the same session in one batch (merged in event order).
        for (let i = 0; i < events.length; ) {
          const size = random.int(1, 3);
          await store.write(batchOf(events.slice(i, i + size)));
          i += size;
        }
        for (const [id, expected] of folded) expect(await probe.session(id)).toEqual(expected);
      },
      timeout,
    );

    mixedIt(
      'bot views count only in botViews, and bot metrics in nothing',
      async () => {
        const { store, probe } = h();
        const human = fixtureView({ path: '/shared', device: 'mobile' });
        const bot = fixtureView({
          path: '/shared',
          isBot: true,
          botReasons: ['user-agent'],
          userId: 'user-bot',
          device: 'mobile',
        });
        const botOnly = fixtureView({ path: '/bots-only', isBot: true, botReasons: ['rate'] });
        const metrics = [fixtureMetric(bot, 'time_on_page', 5_000), fixtureMetric(bot, 'scroll_depth', 90)];
        await store.write(batchOf([human, bot, botOnly].map(pageViewEvent).concat(metrics.map(metricEvent))));
        const rows = await probe.aggregates();
        expect(rows).toEqual(recomputeAggregates([human, bot, botOnly], metrics));
        const shared = rows.find((r) => r.path === '/shared');
        expect(shared).toMatchObject({
          views: 1,
          botViews: 1,
          uniqueVisitors: 1,
          anonymousViews: 1,
          authenticatedViews: 0,
          mobileViews: 1,
          timeOnPageCount: 0,
          scrollDepthCount: 0,
        });
        expect(rows.find((r) => r.path === '/bots-only')).toMatchObject({
          views: 0,
          botViews: 1,
          uniqueVisitors: 0,
        });
        if (!parts.reports) return;
        const q = { from: FIXTURE_DAY, to: FIXTURE_DAY };
        expect((await store.topPages(q)).map((r) => [r.path, r.views])).toEqual([['/shared', 1]]);
        expect((await store.topPages({ ...q, includeBots: true })).map((r) => [r.path, r.views])).toEqual([
          ['/shared', 2],
          ['/bots-only', 1],
        ]);
        expect(await store.bots(q)).toEqual({
          views: 2,
          // Two sessions whose summaries are not written yet: each is a bot session by its stored bot view.
          sessions: 2,
          topPaths: [
            { path: '/bots-only', views: 1 },
            { path: '/shared', views: 1 },
          ],
        });
      },
      timeout,
    );

    writerIt(
      'unique visitors are exact per (day, path), across batches',
      async () => {
        const { store, probe } = h();
        const a = fixtureVisitorKey();
        const b = fixtureVisitorKey();
        const next = FIXTURE_NOW + DAY_MS;
        const views = [
          fixtureView({ visitorKey: a, path: '/x' }),
          fixtureView({ visitorKey: a, path: '/x', at: FIXTURE_NOW + 1_000 }),
          fixtureView({ visitorKey: a, path: '/y' }),
          fixtureView({ visitorKey: b, path: '/x' }),
          fixtureView({ visitorKey: a, path: '/x', at: next }),
          // Aggregate-only (DNT): a view with no visitor and no session.
          fixtureView({ visitorKey: null, sessionId: null, seq: 0, path: '/x' }),
        ];
        await store.write(batchOf(views.slice(0, 2).map(pageViewEvent)));
        await store.write(batchOf(views.slice(2, 4).map(pageViewEvent)));
        await store.write(
          batchOf([
            ...views.slice(4).map(pageViewEvent),
            pageViewEvent(fixtureView({ visitorKey: a, path: '/x' })),
          ]),
        );
        const rows = await probe.aggregates();
        expect(rows.map((r) => [r.day, r.path, r.views, r.uniqueVisitors])).toEqual([
          [FIXTURE_DAY, '/x', 5, 2],
          [FIXTURE_DAY, '/y', 1, 1],
          ['2026-01-16', '/x', 1, 1],
        ]);
      },
      timeout,
    );

    mixedIt(
      'metrics: the first write wins, and each kind adds to its own sums',
      async () => {
        const { store, probe } = h();
        const view = fixtureView({ path: '/read' });
        await store.write(
          batchOf([pageViewEvent(view), metricEvent(fixtureMetric(view, 'time_on_page', 1_000))]),
        );
        const second = await store.write(
          batchOf([
            metricEvent(fixtureMetric(view, 'time_on_page', 9_999)),
            metricEvent(fixtureMetric(view, 'scroll_depth', 55)),
            metricEvent(fixtureMetric(view, 'interactions', 7)),
          ]),
        );
        expect(second).toEqual({ applied: true, written: 2 });
        await store.write(batchOf([metricEvent(fixtureMetric(view, 'interactions', 70))]));
        expect((await probe.metricIds()).sort()).toEqual(
          [`${view.id}:interactions`, `${view.id}:scroll_depth`, `${view.id}:time_on_page`].sort(),
        );
        expect(await probe.aggregates()).toEqual([
          expect.objectContaining({
            path: '/read',
            timeOnPageSumMs: 1_000,
            timeOnPageCount: 1,
            scrollDepthSum: 55,
            scrollDepthCount: 1,
            interactions: 7,
          }),
        ]);
        if (!parts.reports) return;
        const [row] = await store.topPages({ from: FIXTURE_DAY, to: FIXTURE_DAY });
        expect(row).toMatchObject({ path: '/read', avgTimeOnPageMs: 1_000, avgScrollDepth: 55 });
      },
      timeout,
    );

    mixedIt(
      'a conversion is inserted once and marks the sessions it links',
      async () => {
        const { store, probe } = h();
        const s1 = fixtureSession({ startedAt: FIXTURE_NOW - 3_600_000, landingPath: '/posts/:id' });
        const s2 = fixtureSession({ visitorKey: s1.visitorKey, landingPath: '/pricing' });
        const already = fixtureSession({ convertedUserId: 'someone-else', convertedAt: FIXTURE_NOW - 1 });
        await store.write(batchOf([s1, s2, already].map(sessionEvent)));
        const conversion = fixtureConversion('user-c', [s1, s2, already], FIXTURE_NOW + 60_000);
        expect(await store.write(batchOf([conversionEvent(conversion)]))).toEqual({
          applied: true,
          written: 1,
        });
        const changed = { ...conversion, at: conversion.at + 1, pagesBefore: 99 };
        expect(await store.write(batchOf([conversionEvent(changed)]))).toEqual({ applied: true, written: 0 });
        expect(await probe.conversionIds()).toEqual([conversion.id]);
        expect(await probe.session(s1.id)).toMatchObject({
          convertedUserId: 'user-c',
          convertedAt: conversion.at,
        });
        expect(await probe.session(s2.id)).toMatchObject({
          convertedUserId: 'user-c',
          convertedAt: conversion.at,
        });
        expect(await probe.session(already.id)).toMatchObject({
          convertedUserId: 'someone-else',
          convertedAt: FIXTURE_NOW - 1,
        });
        if (!parts.reports) return;
        const report = await store.conversions({ from: FIXTURE_DAY, to: FIXTURE_DAY });
        expect(report.conversions).toEqual([conversion]);
        expect(report).toMatchObject({
          signups: 1,
          convertedSessions: 3,
          visitorSessions: 3,
          conversionRate: 1,
        });
        expect(report.byLandingPage).toEqual([{ path: '/posts/:id', conversions: 1 }]);
      },
      timeout,
    );

    writerIt(
      'visitorSessions returns the sessions of those visitors started in [since, until], oldest first',
      async () => {
        const { store } = h();
        const k = fixtureVisitorKey();
        const l = fixtureVisitorKey();
        const at = (hours: number) => FIXTURE_NOW + hours * 3_600_000;
        const sessions = [
          fixtureSession({ visitorKey: k, startedAt: at(1) }),
          fixtureSession({ visitorKey: k, startedAt: at(-2) }),
          fixtureSession({ visitorKey: k, startedAt: at(0) }),
          fixtureSession({ visitorKey: k, startedAt: at(-1) }),
          fixtureSession({ visitorKey: l, startedAt: at(-1) + 1 }),
          fixtureSession({ visitorKey: fixtureVisitorKey(), startedAt: at(0) }),
        ];
        await store.write(batchOf(sessions.map(sessionEvent)));
        const ids = (list: Session[]) => list.map((s) => s.id);
        const [s1, s2, s3, s4, s5] = sessions as [Session, Session, Session, Session, Session];
        expect(await store.visitorSessions([k], at(-1), at(0))).toEqual([s4, s3]);
        expect(ids(await store.visitorSessions([k, l], at(-1), at(0)))).toEqual([s4.id, s5.id, s3.id]);
        expect(ids(await store.visitorSessions([k], at(-5), at(5)))).toEqual([s2.id, s4.id, s3.id, s1.id]);
        expect(await store.visitorSessions([], at(-5), at(5))).toEqual([]);
        expect(await store.visitorSessions([fixtureVisitorKey()], at(-5), at(5))).toEqual([]);
      },
      timeout,
    );

    writerIt(
      'purge removes old anonymous sessions with their page views and metrics, and nothing else',
      async () => {
        const { store, probe } = h();
        const before = FIXTURE_NOW;
        const old = before - 10 * DAY_MS;
        const anonymous = fixtureSession({ startedAt: old });
        const anonymousViews = fixtureVisit(anonymous, ['/', '/a']);
        const authenticated = fixtureSession({ startedAt: old, userId: 'user-kept' });
        const converted = fixtureSession({ startedAt: old });
        const linkedLater = fixtureSession({ startedAt: old });
        const recent = fixtureSession({ startedAt: before + 1 });
        const keptViews = [
          ...fixtureVisit(authenticated, ['/k1']),
          ...fixtureVisit(converted, ['/k2']),
          ...fixtureVisit(linkedLater, ['/k3']),
          ...fixtureVisit(recent, ['/k4']),
        ];
        const oldAggregateOnly = fixtureView({
          sessionId: null,
          visitorKey: null,
          seq: 0,
          at: old,
          path: '/dnt',
        });
        const newAggregateOnly = fixtureView({
          sessionId: null,
          visitorKey: null,
          seq: 0,
          at: before,
          path: '/dnt',
        });
        const conversion = fixtureConversion('user-conv', [converted], old + 60_000);
        // Written before its session exists: the session has no convertedUserId, yet it is in a conversion.
        const lateLink = fixtureConversion('user-late', [linkedLater], old + 60_000);
        await store.write(batchOf([conversionEvent(lateLink)]));
        await store.write(
          batchOf([
            ...[...anonymousViews, ...keptViews, oldAggregateOnly, newAggregateOnly].map(pageViewEvent),
            metricEvent(fixtureMetric(anonymousViews[0] as PageView, 'time_on_page', 30_000)),
            metricEvent(fixtureMetric(keptViews[0] as PageView, 'scroll_depth', 40)),
            ...[anonymous, authenticated, converted, linkedLater, recent].map(sessionEvent),
          ]),
        );
        await store.write(batchOf([conversionEvent(conversion)]));
        const allIds = [anonymous, authenticated, converted, linkedLater, recent].map((s) => s.id);
        const aggregatesBefore = await probe.aggregates();
        const expectedCounts = { sessions: 1, pageViews: 3, metrics: 1 };
        if (options.purgeDryRun !== false) {
          const untouched = await snapshot(probe, allIds);
          expect(await store.purge(before, { dryRun: true })).toEqual(expectedCounts);
          expect(await snapshot(probe, allIds)).toEqual(untouched);
        }
        expect(await store.purge(before)).toEqual(expectedCounts);
        expect((await probe.pageViewIds()).sort()).toEqual(
          [...keptViews, newAggregateOnly].map((v) => v.id).sort(),
        );
        expect(await probe.metricIds()).toEqual([`${(keptViews[0] as PageView).id}:scroll_depth`]);
        expect(await probe.session(anonymous.id)).toBeNull();
        for (const kept of [authenticated, converted, linkedLater, recent]) {
          expect(await probe.session(kept.id)).not.toBeNull();
        }
        expect((await probe.conversionIds()).sort()).toEqual([conversion.id, lateLink.id].sort());
        expect(await probe.aggregates()).toEqual(aggregatesBefore);
        expect(await store.purge(before)).toEqual({ sessions: 0, pageViews: 0, metrics: 0 });
        const err = await store.purge(Number.NaN).catch((e: unknown) => e);
        expect(isAnonError(err, 'invalid_input')).toBe(true);
      },
      timeout,
    );

    reportsIt(
      'every report equals the brute-force truth of generated traffic',
      async () => {
        const { store, probe } = h();
        const t = traffic();
        await writeAll(h(), t.batches);
        expect((await probe.pageViewIds()).sort()).toEqual(t.views.map((v) => v.id).sort());
        expect((await probe.metricIds()).sort()).toEqual(
          t.metrics.map((m) => `${m.viewId}:${m.metric}`).sort(),
        );
        expect((await probe.conversionIds()).sort()).toEqual(t.conversions.map((c) => c.id).sort());
        for (const session of t.sessions) expect(await probe.session(session.id)).toEqual(session);
        const middle = t.days[Math.floor(t.days.length / 2)] as string;
        const all: ReportQuery = { from: t.from, to: t.to, limit: 1_000 };
        const cases: [string, ReportQuery, ReportExtras][] = [
          ['whole range', all, {}],
          ['whole range with bots', { ...all, includeBots: true }, { maxSteps: 3 }],
          ['one day', { from: middle, to: middle, limit: 1_000 }, { funnelSteps: ['/posts/*', '/signup'] }],
          ['first two days', { from: t.from, to: t.days[1] ?? t.from, limit: 1_000 }, {}],
          ['exact path', { ...all, path: '/posts/:id' }, { funnelSteps: ['/posts/:id', '/pricing'] }],
          ['pattern', { ...all, path: '/docs/*' }, {}],
          ['pattern with bots', { ...all, path: '/*s*', includeBots: true }, { maxSteps: 2 }],
          ['limit', { from: t.from, to: t.to, limit: 3 }, {}],
          ['default limit', { from: t.from, to: t.to }, {}],
          ['empty range', { from: '2000-01-01', to: '2000-01-31' }, {}],
        ];
        for (const [label, q, extras] of cases) {
          expectReportsEqual(await readReports(store, q, extras), t.truth.reports(q, extras), label);
        }
      },
      timeout,
    );

    reportsIt(
      'path filters: exact, `*` patterns, and every other character literal',
      async () => {
        const { store } = h();
        const paths = [
          '/posts/:id',
          '/posts/a/b',
          '/post',
          '/a_c',
          '/abc',
          '/100%',
          '/1000',
          '/a.c',
          '/x(y)',
          '/xy',
        ];
        const views: PageView[] = [];
        const sessions: Session[] = [];
        for (const path of paths) {
          const s = fixtureSession({ landingPath: path, exitPath: path });
          sessions.push(s);
          views.push(...fixtureVisit(s, [path]));
        }
        await store.write(batchOf([...views.map(pageViewEvent), ...sessions.map(sessionEvent)]));
        const truth = computeTruth({ views, metrics: [], sessions, conversions: [] });
        const cases: [string, string[]][] = [
          ['/posts/*', ['/posts/:id', '/posts/a/b']],
          ['/post', ['/post']],
          ['/a_c', ['/a_c']],
          ['/100%', ['/100%']],
          ['/a.c', ['/a.c']],
          ['/x(y)', ['/x(y)']],
          ['*c', ['/a.c', '/a_c', '/abc']],
          ['/p*t', ['/post']],
          ['/*/*', ['/posts/:id', '/posts/a/b']],
          ['/nothing', []],
        ];
        for (const [pattern, expected] of cases) {
          const q = { from: FIXTURE_DAY, to: FIXTURE_DAY, path: pattern };
          const top = await store.topPages(q);
          expect(top.map((r) => r.path).sort(), pattern).toEqual([...expected].sort());
          expect(top, pattern).toEqual(truth.topPages(q));
          expect(await store.sessions(q), pattern).toEqual(truth.sessions(q));
          expect(await store.aggregates(q), pattern).toEqual(truth.aggregates(q));
        }
      },
      timeout,
    );

    reportsIt(
      'date ranges are inclusive days',
      async () => {
        const { store } = h();
        const views = [0, 1, 2].map((d) => fixtureView({ at: FIXTURE_NOW + d * DAY_MS, path: '/daily' }));
        const sessions = views.map((v) =>
          fixtureSession({ id: v.sessionId as string, visitorKey: v.visitorKey as string, startedAt: v.at }),
        );
        await store.write(batchOf([...views.map(pageViewEvent), ...sessions.map(sessionEvent)]));
        const range = (from: string, to: string) => ({ from, to });
        expect((await store.topPages(range('2026-01-15', '2026-01-17')))[0]?.views).toBe(3);
        expect((await store.topPages(range('2026-01-16', '2026-01-16')))[0]?.views).toBe(1);
        expect((await store.topPages(range('2026-01-16', '2026-01-20')))[0]?.views).toBe(2);
        expect(await store.topPages(range('2026-01-18', '2026-01-20'))).toEqual([]);
        expect(await store.topPages(range('2026-01-17', '2026-01-15'))).toEqual([]);
        expect((await store.sessions(range('2026-01-15', '2026-01-16'))).sessions).toBe(2);
        expect((await store.aggregates(range('2026-01-17', '2026-01-17'))).map((r) => r.day)).toEqual([
          '2026-01-17',
        ]);
      },
      timeout,
    );

    reportsIt(
      'a report query that is not well formed is refused with invalid_input (no empty or shifted range)',
      async () => {
        const { store } = h();
        const day = FIXTURE_DAY;
        const bad: unknown[] = [
          null,
          { from: '2026-02-30', to: day },
          { from: day, to: '2026-13-01' },
          { from: '0000-01-01', to: day },
          { from: '2026-1-5', to: day },
          { from: day, to: day, limit: -1 },
          { from: day, to: day, limit: 1.5 },
          { from: day, to: day, path: { $ne: null } },
          { from: day, to: day, includeBots: 'yes' },
        ];
        for (const q of bad) {
          const err = await store.topPages(q as ReportQuery).catch((e: unknown) => e);
          expect(isAnonError(err, 'invalid_input'), JSON.stringify(q)).toBe(true);
        }
        const q = { from: day, to: day };
        for (const steps of [null, [1], Array.from({ length: MAX_FUNNEL_STEPS + 1 }, () => '/')]) {
          const err = await store.funnel(q, steps as string[]).catch((e: unknown) => e);
          expect(isAnonError(err, 'invalid_input'), JSON.stringify(steps)).toBe(true);
        }
        for (const maxSteps of [0, 1.5]) {
          const err = await store.journeys({ ...q, maxSteps }).catch((e: unknown) => e);
          expect(isAnonError(err, 'invalid_input'), String(maxSteps)).toBe(true);
        }
      },
      timeout,
    );

    reportsIt(
      'hostile strings are stored and read back verbatim',
      async () => {
        const { store, probe } = h();
        const written: { session: Session; views: PageView[]; metric: PageMetric }[] = [];
        for (const raw of HOSTILE_STRINGS) {
          const path = fitTo(raw, LIMITS.path);
          const session = fixtureSession({
            visitorKey: fixtureVisitorKey(),
            userId: fitTo(raw, LIMITS.userId),
            landingPath: path,
            exitPath: path,
            referrer: fitTo(raw, LIMITS.referrer),
            referrerHost: fitTo(raw, LIMITS.referrer),
            utmSource: fitTo(raw, LIMITS.utm),
            utmMedium: fitTo(raw, LIMITS.utm),
            utmCampaign: fitTo(raw, LIMITS.utm),
            utmTerm: fitTo(raw, LIMITS.utm),
            utmContent: fitTo(raw, LIMITS.utm),
            browser: fitTo(raw, LIMITS.browser),
            os: fitTo(raw, LIMITS.os),
            city: fitTo(raw, LIMITS.city),
          });
          const [view] = fixtureVisit(session, [path]) as [PageView];
          const hostileView: PageView = {
            ...view,
            url: fitTo(raw, LIMITS.url),
            pageType: fitTo(raw, LIMITS.pageType),
            scope: fitTo(raw, LIMITS.scope),
            city: session.city,
          };
          written.push({
            session,
            views: [hostileView],
            metric: fixtureMetric(hostileView, 'time_on_page', 1_234),
          });
        }
        await store.write(
          batchOf(
            written.flatMap((w) => [
              ...w.views.map(pageViewEvent),
              metricEvent(w.metric),
              sessionEvent(w.session),
            ]),
          ),
        );
        const conversion = fixtureConversion(fitTo(HOSTILE_STRINGS[2] as string, LIMITS.userId), [
          (written[0] as (typeof written)[number]).session,
        ]);
        await store.write(batchOf([conversionEvent(conversion)]));
        expect(await probe.conversionIds()).toEqual([conversion.id]);
        const views = written.flatMap((w) => w.views);
        const sessions = written.map((w) => w.session);
        const truth = computeTruth({
          views,
          metrics: written.map((w) => w.metric),
          sessions: sessions.map((s) =>
            s.id === conversion.sessionIds[0]
              ? { ...s, convertedUserId: conversion.userId, convertedAt: conversion.at }
              : s,
          ),
          conversions: [conversion],
        });
        for (const w of written) {
          expect(await probe.session(w.session.id)).toEqual(
            truth.data.sessions.find((s) => s.id === w.session.id),
          );
          expect(await store.visitorSessions([w.session.visitorKey], 0, Number.MAX_SAFE_INTEGER)).toEqual(
            truth.data.sessions.filter((s) => s.id === w.session.id),
          );
          const q = { from: FIXTURE_DAY, to: FIXTURE_DAY, path: w.session.landingPath };
          expect(await store.topPages(q), w.session.landingPath).toEqual(truth.topPages(q));
          expect((await store.topPages(q)).length).toBe(1);
        }
        const all = { from: FIXTURE_DAY, to: FIXTURE_DAY, limit: 1_000 };
        expectReportsEqual(await readReports(store, all), truth.reports(all), 'hostile');
        expect(await probe.aggregates()).toEqual(truth.aggregates(EVERYTHING));
      },
      timeout,
    );

    mixedIt(
      'aggregates equal recomputeAggregates of the stored page views and metrics',
      async () => {
        const { store, probe } = h();
        const t = traffic();
        await writeAll(h(), t.batches);
        await writeAll(
          h(),
          t.batches.slice(0, Math.ceil(t.batches.length / 2)).map((b) => batchOf(b.events)),
        );
        const viewIds = new Set(await probe.pageViewIds());
        const metricIds = new Set(await probe.metricIds());
        const views = t.views.filter((v) => viewIds.has(v.id));
        const metrics = t.metrics.filter((m) => metricIds.has(`${m.viewId}:${m.metric}`));
        expect(views).toHaveLength(t.views.length);
        const recomputed = recomputeAggregates(views, metrics);
        expect(await probe.aggregates()).toEqual(recomputed);
        if (parts.reports) expect(await store.aggregates(EVERYTHING)).toEqual(recomputed);
      },
      timeout,
    );

    mixedIt(
      'rows and report ties are in code-point order, astral characters and U+E000–U+FFFF mixed',
      async () => {
        const { store, probe } = h();
        // UTF-16 order puts U+E000–U+FFFF after every astral character; code-point order (SQL's "C"
        // collation on UTF-8, MongoDB's binary order) puts it before. Each path gets one view, so every
        // report row ties on its count and the order is decided by the key alone.
        const views = unicodePaths(40).map((path) => fixtureView({ path, visitorKey: fixtureVisitorKey() }));
        await store.write(batchOf(views.map(pageViewEvent)));
        const recomputed = recomputeAggregates(views, []);
        expect(await probe.aggregates()).toEqual(recomputed);
        if (!parts.reports) return;
        expect(await store.aggregates(EVERYTHING)).toEqual(recomputed);
        const truth = computeTruth({ views, metrics: [], sessions: [], conversions: [] });
        const q = { from: FIXTURE_DAY, to: FIXTURE_DAY, limit: 1_000 };
        expect(await store.topPages(q)).toEqual(truth.topPages(q));
        expect(await store.bots({ ...q, includeBots: true })).toEqual(
          truth.bots({ ...q, includeBots: true }),
        );
      },
      timeout,
    );

    registerBotSessionChecks(mixedIt, writerIt, h, traffic, parts.reports, timeout);
    registerLiveReportChecks(reportsIt, h, traffic, timeout);
    registerPurgeRollupChecks(reportsIt, h, traffic, timeout);
    registerClaimDailyJobChecks(when(parts.writer && options.claimDailyJob !== false), h, timeout);
  });
}
