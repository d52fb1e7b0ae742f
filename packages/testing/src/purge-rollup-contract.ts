import type {
  EventBatch,
  Millis,
  PageMetric,
  PageView,
  PurgeOptions,
  PurgeResult,
  ReportQuery,
  Store,
} from '@anon/core';
import { describe, expect, it } from 'vitest';
import { contractTraffic } from './contract-traffic.js';
import { DAY_MS } from './fixtures.js';
import type { Traffic, TrafficOptions } from './generate-traffic.js';
import { type StoreHarness, type StoreProbe, storePerTest } from './harness.js';
import type { RegisterCheck } from './live-reports-contract.js';
import { staleBatches } from './stale-summaries.js';
import { computeTruth, DEFAULT_FUNNEL, type TruthData } from './traffic-truth.js';

// Rollups that survive purge (docs/semantics.md, "Rollups"): every report but `funnel` and `journeys` reads
// the same before and after any purge — anonymous or authenticated, replayed, out of order, or cutting
// through sessions whose summaries are stale. `funnel` and `journeys` need the order of page views and lose
// purged sessions: after a purge they equal the recomputation from what is left.

/** What the purge-rollup checks need from a harness: the store and (for the remaining rows) its probe. */
export interface PurgeRollupHarness {
  store: Store;
  probe: Pick<StoreProbe, 'pageViewIds' | 'metricIds' | 'session'>;
}

/**
 * What a store holds, as the checks model it, with the purge rule applied independently of any store code
 * (docs/semantics.md, `purge`).
 */
function purgeModel(
  data: TruthData,
  before: Millis,
  authenticatedBefore: Millis | null,
): { result: PurgeResult; left: TruthData } {
  const named = new Set<string>();
  for (const c of data.conversions) for (const id of c.sessionIds) named.add(id);
  const userViews = new Set<string>();
  for (const v of data.views) if (v.sessionId !== null && v.userId !== null) userViews.add(v.sessionId);
  const gone = new Set<string>();
  for (const s of data.sessions) {
    if (named.has(s.id)) continue;
    const anonymous = s.userId === null && s.convertedUserId === null;
    const authenticated = !anonymous || userViews.has(s.id);
    if (
      (anonymous && s.startedAt < before) ||
      (authenticated && authenticatedBefore !== null && s.startedAt < authenticatedBefore)
    ) {
      gone.add(s.id);
    }
  }
  const viewGone = (v: PageView): boolean =>
    v.sessionId !== null
      ? gone.has(v.sessionId)
      : v.at < before || (v.userId !== null && authenticatedBefore !== null && v.at < authenticatedBefore);
  const goneViews = new Set(data.views.filter(viewGone).map((v) => v.id));
  const metricGone = (m: PageMetric): boolean =>
    goneViews.has(m.viewId) || (m.sessionId !== null ? gone.has(m.sessionId) : m.at < before);
  return {
    result: {
      sessions: gone.size,
      pageViews: goneViews.size,
      metrics: data.metrics.filter(metricGone).length,
    },
    left: {
      views: data.views.filter((v) => !goneViews.has(v.id)),
      metrics: data.metrics.filter((m) => !metricGone(m)),
      sessions: data.sessions.filter((s) => !gone.has(s.id)),
      conversions: data.conversions,
    },
  };
}

/** Which reports a reading compares: all of them, or (mid-session) those whose bot verdict cannot move. */
type Reading = 'all' | 'mid-session';

/**
 * Every report but `funnel` and `journeys`, for the whole range and each day, with and without bots, with no
 * path filter, an exact path and a landing pattern (`overview` takes no pattern: with one, a visitor of two
 * matching purged paths counts twice — documented).
 */
async function readPreserved(
  store: Store,
  days: string[],
  exactPath: string,
  reading: Reading,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ranges: [string, string][] = [
    [days[0]!, days[days.length - 1]!],
    ...days.map((d): [string, string] => [d, d]),
  ];
  for (const [from, to] of ranges) {
    for (const includeBots of [false, true]) {
      for (const path of [undefined, exactPath, '/p*']) {
        const q: ReportQuery = {
          from,
          to,
          includeBots,
          limit: 1_000,
          ...(path === undefined ? {} : { path }),
        };
        const label = `${from}..${to}${includeBots ? ' with bots' : ''}${path === undefined ? '' : ` path ${path}`}`;
        out[`topPages ${label}`] = await store.topPages(q);
        out[`aggregates ${label}`] = await store.aggregates(q);
        out[`sessions ${label}`] = await store.sessions(q);
        out[`entryPages ${label}`] = await store.entryPages(q);
        out[`exitPages ${label}`] = await store.exitPages(q);
        out[`countries ${label}`] = await store.countries(q);
        if (path !== '/p*') out[`overview ${label}`] = await store.overview(q);
        const bots = await store.bots(q);
        // Mid-session, a session's summary may still call it human while a later view is a bot view: the
        // reports that select by summary may move it from human to bot when it is purged (docs/semantics.md).
        if (reading === 'all') {
          out[`bots ${label}`] = bots;
        } else {
          out[`bots ${label}`] = { views: bots.views, topPaths: bots.topPaths };
        }
        if (reading === 'all' || includeBots) {
          out[`conversions ${label}`] = await store.conversions(q);
          out[`referrers ${label}`] = await store.referrers(q);
          out[`campaigns ${label}`] = await store.campaigns(q);
          out[`devices ${label}`] = await store.devices(q);
        }
      }
    }
  }
  return out;
}

/** `funnel` and `journeys` after a purge: the recomputation from what is left. */
async function expectSequenceReports(store: Store, left: TruthData, from: string, to: string): Promise<void> {
  const truth = computeTruth(left);
  for (const q of [
    { from, to, limit: 1_000 },
    { from, to, limit: 1_000, includeBots: true },
  ] as ReportQuery[]) {
    expect(await store.journeys(q), 'journeys after purge').toEqual(truth.journeys(q));
    expect(await store.funnel(q, DEFAULT_FUNNEL), 'funnel after purge').toEqual(
      truth.funnel(q, DEFAULT_FUNNEL),
    );
  }
}

/** Compares two readings report by report, so a failure names the report and query. */
function expectSameReports(
  after: Record<string, unknown>,
  before: Record<string, unknown>,
  step: string,
): void {
  expect(Object.keys(after)).toEqual(Object.keys(before));
  for (const key of Object.keys(before)) expect(after[key], `${key}, after ${step}`).toEqual(before[key]);
}

interface PurgeStep {
  label: string;
  before: Millis;
  options?: PurgeOptions;
}

/** Writes, reads every preserved report, runs the purges in order, and after each reads them again. */
async function runPurges(
  h: PurgeRollupHarness,
  t: Traffic,
  written: { batches: EventBatch[]; data: TruthData },
  steps: PurgeStep[],
  reading: Reading,
): Promise<TruthData> {
  for (const batch of written.batches) await h.store.write(batch);
  const whole = { from: t.from, to: t.to, limit: 1 };
  const exactPath = (await h.store.topPages(whole))[0]?.path ?? '/';
  const before = await readPreserved(h.store, t.days, exactPath, reading);
  let data = written.data;
  let removed = 0;
  for (const step of steps) {
    const model = purgeModel(data, step.before, step.options?.authenticatedBefore ?? null);
    expect(await h.store.purge(step.before, step.options), `purge result, ${step.label}`).toEqual(
      model.result,
    );
    data = model.left;
    removed += model.result.sessions;
    expect((await h.probe.pageViewIds()).sort(), `page views left, ${step.label}`).toEqual(
      data.views.map((v) => v.id).sort(),
    );
    expectSameReports(await readPreserved(h.store, t.days, exactPath, reading), before, step.label);
  }
  // Not vacuous: the purges removed sessions (and the checks above compared reports that count them).
  expect(removed).toBeGreaterThan(0);
  return data;
}

/**
 * Registers the purge-rollup checks of the reports contract: every report but `funnel` and `journeys` reads
 * the same before and after purges (anonymous, replayed, out of order, with `authenticatedBefore`, and through
 * sessions whose summaries are stale). Called from `storeContract` / `reportsContract`; to run them alone use
 * {@link purgeRollupContract}.
 */
export function registerPurgeRollupChecks(
  check: RegisterCheck,
  h: () => PurgeRollupHarness,
  traffic: () => Traffic,
  timeout: number,
): void {
  const cutoffs = (t: Traffic) => {
    const start = t.options.start;
    return {
      early: start + DAY_MS / 2,
      middle: start + DAY_MS + DAY_MS / 2,
      late: start + 2 * DAY_MS + DAY_MS / 2,
      end: start + (t.days.length + 1) * DAY_MS,
    };
  };
  const finalData = (t: Traffic): TruthData => ({
    views: t.views,
    metrics: t.metrics,
    sessions: t.sessions,
    conversions: t.conversions,
  });

  check(
    'purge folds sessions into rollups: reports read the same after anonymous purges, replayed and out of order',
    async () => {
      const t = traffic();
      const c = cutoffs(t);
      const left = await runPurges(
        h(),
        t,
        { batches: t.batches, data: finalData(t) },
        [
          { label: 'a purge in the middle of the range', before: c.middle },
          { label: 'the same purge again', before: c.middle },
          { label: 'an earlier cut-off after a later one', before: c.early },
          { label: 'a later cut-off', before: c.late },
          { label: 'a cut-off past the last day', before: c.end },
          { label: 'that purge replayed', before: c.end },
        ],
        'all',
      );
      // Only sessions a conversion names, or with a user id, are left with their page views.
      for (const s of left.sessions) {
        expect(
          s.userId !== null ||
            s.convertedUserId !== null ||
            t.conversions.some((x) => x.sessionIds.includes(s.id)),
        ).toBe(true);
      }
      await expectSequenceReports(h().store, left, t.from, t.to);
    },
    timeout,
  );

  check(
    'purge with authenticatedBefore folds authenticated sessions too, and keeps the converted ones',
    async () => {
      const t = traffic();
      const c = cutoffs(t);
      const authenticated = t.sessions.filter((s) => s.userId !== null && s.startedAt < c.end);
      expect(authenticated.length, 'the traffic has authenticated sessions').toBeGreaterThan(0);
      const left = await runPurges(
        h(),
        t,
        { batches: t.batches, data: finalData(t) },
        [
          {
            label: 'authenticated only up to an early cut-off',
            before: c.middle,
            options: { authenticatedBefore: c.early },
          },
          { label: 'both at a later cut-off', before: c.late, options: { authenticatedBefore: c.late } },
          { label: 'both past the last day', before: c.end, options: { authenticatedBefore: c.end } },
          { label: 'that purge replayed', before: c.end, options: { authenticatedBefore: c.end } },
        ],
        'all',
      );
      const named = new Set(t.conversions.flatMap((x) => x.sessionIds));
      expect(left.sessions.every((s) => named.has(s.id))).toBe(true);
      for (const s of authenticated) {
        if (!named.has(s.id)) expect(await h().probe.session(s.id)).toBeNull();
      }
      expect((await h().probe.metricIds()).sort()).toEqual(
        left.metrics.map((m) => `${m.viewId}:${m.metric}`).sort(),
      );
      await expectSequenceReports(h().store, left, t.from, t.to);
    },
    timeout,
  );

  check(
    'purge through sessions whose summaries are stale folds them as the live reports count them',
    async () => {
      const t = traffic();
      const c = cutoffs(t);
      const stale = staleBatches(t);
      const left = await runPurges(
        h(),
        t,
        {
          batches: stale.batches,
          data: { views: t.views, metrics: t.metrics, sessions: stale.sessions, conversions: t.conversions },
        },
        [
          { label: 'a purge in the middle of the range', before: c.middle },
          {
            label: 'a purge past the last day, authenticated too',
            before: c.end,
            options: { authenticatedBefore: c.end },
          },
          { label: 'that purge replayed', before: c.end, options: { authenticatedBefore: c.end } },
        ],
        'mid-session',
      );
      await expectSequenceReports(h().store, left, t.from, t.to);
    },
    timeout,
  );
}

/** Options of {@link purgeRollupContract}. */
export interface PurgeRollupContractOptions {
  /**
   * Shape of the generated traffic (at least 3 days; the seed is fixed so a failure replays).
   * @default { seed: 20260115, visitors: 30, days: 3 }
   */
  traffic?: Partial<TrafficOptions>;
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
}

/**
 * The purge-rollup checks alone, as a vitest `describe` block (`storeContract` runs them too). `create` is
 * called once per test and returns an isolated, empty store with its probe.
 * @example
 * purgeRollupContract('my-store', async () => ({ store: myStore(db), probe: myProbe(db), cleanup: () => db.drop() }));
 */
export function purgeRollupContract(
  name: string,
  create: () => Promise<StoreHarness>,
  options: PurgeRollupContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const traffic = contractTraffic(options.traffic);
  describe(`purge-rollup contract: ${name}`, () => {
    const h = storePerTest(create, timeout);
    registerPurgeRollupChecks((label, body, ms) => it(label, body, ms), h, traffic, timeout);
  });
}
