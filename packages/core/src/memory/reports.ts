import {
  type CheckedQuery,
  checkFunnelSteps,
  checkMaxSteps,
  checkQuery as checkReportQuery,
} from '../adapter/check-query.js';
import {
  isLiveVisitorSession,
  isVisitorRollup,
  type LiveSession,
  liveSession,
} from '../adapter/live-session.js';
import {
  buildOverview,
  countedViews,
  countriesOf,
  entryPagesOf,
  exitPagesOf,
  overviewViewDays,
  sessionDays,
  sessionsReportOf,
  storedViewDays,
} from '../adapter/overview.js';
import {
  compareCampaignRows,
  compareCounted,
  compareJourneyRows,
  funnelStepsReached,
} from '../adapter/report-order.js';
import { type BotSelection, botSelectionOf, rollupsIn, visitorRollupDays } from '../adapter/rollup.js';
import { matchPath } from '../match-path.js';
import type { Reports } from '../ports.js';
import type {
  BotsReport,
  CampaignRow,
  ConversionsReport,
  DailyAggregate,
  DevicesReport,
  FunnelStepRow,
  JourneyRow,
  PageView,
  ReferrerRow,
  ReportQuery,
  SessionRollup,
  SessionsReport,
  TopPageRow,
} from '../types.js';
import { compareCodePoints } from './code-point-order.js';
import { copyAggregate, copyConversion, type StoreState } from './store-state.js';

type Query = CheckedQuery;

const SOURCE = 'memory';
const SIGNUP_STEP = '(signup)';

/** The Reports table of docs/semantics.md, computed from the memory store's maps at each call. */
export function createReports(state: StoreState): Reports {
  const botsFor = botSelectionOf;
  /**
   * Sessions in range as every session-level report counts them (`liveSession`): summaries merged with their
   * stored views, and sessions whose views are stored but whose summary is not yet; landing page matching, bots
   * as `bots` says.
   */
  const liveIn = (q: Query, bots: BotSelection = botsFor(q)): LiveSession[] => {
    const found: LiveSession[] = [];
    const keep = (s: LiveSession | null): void => {
      if (s === null || s.day < q.from || s.day > q.to) return;
      if (bots === 'exclude' && s.isBot) return;
      if (bots === 'only' && !s.isBot) return;
      if (q.path !== null && !matchPath(q.path, s.landingPath)) return;
      found.push(s);
    };
    for (const [day, ids] of state.sessionsByDay) {
      if (day < q.from || day > q.to) continue;
      for (const id of ids) {
        const s = state.sessions.get(id);
        if (s !== undefined) keep(liveSession(s, state.viewsBySession.get(id) ?? []));
      }
    }
    for (const [id, views] of state.viewsBySession) {
      if (!state.sessions.has(id)) keep(liveSession(null, views));
    }
    return found;
  };
  /** Rollup rows of purged sessions, selected as `liveIn` selects sessions. */
  const rolledIn = (q: Query, bots: BotSelection = botsFor(q)): SessionRollup[] =>
    rollupsIn(state.sessionRollups.values(), q, bots);
  /** The live sessions and rollup rows a session report of `q` counts (bots as the query asks). */
  const counted = (q: Query): { live: LiveSession[]; rolled: SessionRollup[] } => ({
    live: liveIn(q),
    rolled: rolledIn(q),
  });
  /** Live sessions and rollup rows as `[key, count]` entries for `ranked`. */
  const keyed = function* <K>(
    { live, rolled }: { live: LiveSession[]; rolled: SessionRollup[] },
    keyOf: (s: LiveSession | SessionRollup) => K,
  ): Generator<[K, number]> {
    for (const s of live) yield [keyOf(s), 1];
    for (const r of rolled) yield [keyOf(r), r.sessions];
  };

  /** Aggregate rows whose day is in range and whose path matches. */
  const rowsIn = (q: Query): DailyAggregate[] => {
    const found: DailyAggregate[] = [];
    for (const [day, rows] of state.aggregates) {
      if (day < q.from || day > q.to) continue;
      for (const row of rows.values()) {
        if (q.path === null || matchPath(q.path, row.path)) found.push(row);
      }
    }
    return found;
  };

  /** The session's stored page views, in `seq` order. */
  const viewsOf = (sessionId: string): PageView[] =>
    [...(state.viewsBySession.get(sessionId) ?? [])].sort(
      (a, b) => a.seq - b.seq || compareCodePoints(a.id, b.id),
    );

  return {
    async topPages(query) {
      const q = checkQuery(query);
      const byPath = new Map<
        string,
        TopPageRow & { timeSum: number; timeCount: number; scrollSum: number; scrollCount: number }
      >();
      for (const row of rowsIn(q)) {
        let acc = byPath.get(row.path);
        if (acc === undefined) {
          acc = {
            path: row.path,
            views: 0,
            uniqueVisitors: 0,
            authenticatedViews: 0,
            anonymousViews: 0,
            avgTimeOnPageMs: null,
            avgScrollDepth: null,
            timeSum: 0,
            timeCount: 0,
            scrollSum: 0,
            scrollCount: 0,
          };
          byPath.set(row.path, acc);
        }
        const counted = countedViews(row, q.includeBots);
        acc.views += counted.views;
        acc.uniqueVisitors += row.uniqueVisitors;
        acc.authenticatedViews += counted.authenticatedViews;
        acc.anonymousViews += counted.anonymousViews;
        acc.timeSum += row.timeOnPageSumMs;
        acc.timeCount += row.timeOnPageCount;
        acc.scrollSum += row.scrollDepthSum;
        acc.scrollCount += row.scrollDepthCount;
      }
      const rows: TopPageRow[] = [];
      for (const acc of byPath.values()) {
        if (acc.views === 0) continue;
        rows.push({
          path: acc.path,
          views: acc.views,
          uniqueVisitors: acc.uniqueVisitors,
          authenticatedViews: acc.authenticatedViews,
          anonymousViews: acc.anonymousViews,
          avgTimeOnPageMs: acc.timeCount === 0 ? null : acc.timeSum / acc.timeCount,
          avgScrollDepth: acc.scrollCount === 0 ? null : acc.scrollSum / acc.scrollCount,
        });
      }
      rows.sort((a, b) => b.views - a.views || compareCodePoints(a.path, b.path));
      return rows.slice(0, q.limit);
    },

    async sessions(query): Promise<SessionsReport> {
      const q = checkQuery(query);
      return sessionsReportOf(liveIn(q), rolledIn(q));
    },

    async conversions(query): Promise<ConversionsReport> {
      const q = checkQuery(query);
      const inRange = [...state.conversions.values()]
        .filter(
          (c) =>
            c.day >= q.from &&
            c.day <= q.to &&
            (q.path === null || (c.firstTouch !== null && matchPath(q.path, c.firstTouch.landingPath))),
        )
        .sort((a, b) => a.at - b.at || compareCodePoints(a.id, b.id));
      const converted = new Set<string>();
      for (const c of inRange) for (const id of c.sessionIds) converted.add(id);
      let visitorSessions = 0;
      for (const s of liveIn(q)) {
        if (isLiveVisitorSession(s, state.convertedSessions.has(s.id))) visitorSessions++;
      }
      for (const r of rolledIn(q)) if (isVisitorRollup(r)) visitorSessions += r.sessions;
      return {
        signups: inRange.length,
        visitorSessions,
        convertedSessions: converted.size,
        conversionRate: visitorSessions === 0 ? null : converted.size / visitorSessions,
        conversions: inRange.slice(0, q.limit).map(copyConversion),
        byLandingPage: ranked(
          inRange.filter((c) => c.firstTouch !== null).map((c) => [c.firstTouch!.landingPath, 1]),
          q.limit,
        ).map(([path, conversions]) => ({ path, conversions })),
        byReferrer: ranked(
          inRange.map((c) => [c.firstTouch?.referrerHost ?? null, 1]),
          q.limit,
        ).map(([referrerHost, conversions]) => ({ referrerHost, conversions })),
      };
    },

    async funnel(query, steps): Promise<FunnelStepRow[]> {
      const q = checkQuery(query);
      checkFunnelSteps(steps, SOURCE);
      const reached = steps.map(() => 0);
      for (const s of liveIn(q)) {
        const k = funnelStepsReached(
          steps,
          viewsOf(s.id).map((view) => view.path),
        );
        for (let i = 0; i < k; i++) reached[i]!++;
      }
      return steps.map((step, i) => ({ step, sessions: reached[i]! }));
    },

    async journeys(query): Promise<JourneyRow[]> {
      const q = checkQuery(query);
      const maxSteps = checkMaxSteps(query.maxSteps, SOURCE);
      const groups = new Map<string, JourneyRow>();
      for (const s of liveIn(q)) {
        const views = viewsOf(s.id);
        if (views.length === 0) continue;
        const steps: string[] = [];
        for (const view of views) {
          if (steps[steps.length - 1] !== view.path) steps.push(view.path);
        }
        steps.length = Math.min(steps.length, maxSteps);
        if (state.convertedSessions.has(s.id)) steps.push(SIGNUP_STEP);
        const key = JSON.stringify(steps);
        const row = groups.get(key);
        if (row === undefined) groups.set(key, { steps, sessions: 1 });
        else row.sessions++;
      }
      return [...groups.values()].sort(compareJourneyRows).slice(0, q.limit);
    },

    async referrers(query): Promise<ReferrerRow[]> {
      const q = checkQuery(query);
      return ranked(
        keyed(counted(q), (s) => s.referrerHost),
        q.limit,
      ).map(([referrerHost, sessions]) => ({ referrerHost, sessions }));
    },

    async campaigns(query): Promise<CampaignRow[]> {
      const q = checkQuery(query);
      const groups = new Map<string, CampaignRow>();
      for (const [s, n] of keyed(counted(q), (s) => s)) {
        if (s.utmSource === null && s.utmMedium === null && s.utmCampaign === null) continue;
        const key = JSON.stringify([s.utmSource, s.utmMedium, s.utmCampaign]);
        const row = groups.get(key);
        if (row === undefined) {
          groups.set(key, {
            utmSource: s.utmSource,
            utmMedium: s.utmMedium,
            utmCampaign: s.utmCampaign,
            sessions: n,
          });
        } else {
          row.sessions += n;
        }
      }
      return [...groups.values()].sort(compareCampaignRows).slice(0, q.limit);
    },

    async devices(query): Promise<DevicesReport> {
      const q = checkQuery(query);
      const all = counted(q);
      return {
        devices: ranked(
          keyed(all, (s) => s.device),
          q.limit,
        ).map(([device, sessions]) => ({ device, sessions })),
        browsers: ranked(
          keyed(all, (s) => s.browser),
          q.limit,
        ).map(([browser, sessions]) => ({ browser, sessions })),
        os: ranked(
          keyed(all, (s) => s.os),
          q.limit,
        ).map(([os, sessions]) => ({ os, sessions })),
      };
    },

    async bots(query): Promise<BotsReport> {
      const q = checkQuery(query);
      const byPath = new Map<string, number>();
      let views = 0;
      for (const row of rowsIn(q)) {
        if (row.botViews === 0) continue;
        views += row.botViews;
        byPath.set(row.path, (byPath.get(row.path) ?? 0) + row.botViews);
      }
      const topPaths = [...byPath]
        .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
        .slice(0, q.limit)
        .map(([path, n]) => ({ path, views: n }));
      let sessions = liveIn(q, 'only').length;
      for (const r of rolledIn(q, 'only')) sessions += r.sessions;
      return { views, sessions, topPaths };
    },

    async overview(query) {
      const q = checkQuery(query);
      const views = overviewViewDays(
        rowsIn(q),
        storedViewDays(state.pageViews.values(), q),
        visitorRollupDays(state.visitorRollups.values(), q),
        q,
      );
      return buildOverview(views, sessionDays(liveIn(q), rolledIn(q)));
    },

    async entryPages(query) {
      const q = checkQuery(query);
      return entryPagesOf(liveIn(q), q.limit, rolledIn(q));
    },

    async exitPages(query) {
      const q = checkQuery(query);
      return exitPagesOf(liveIn(q), q.limit, rolledIn(q));
    },

    async countries(query) {
      const q = checkQuery(query);
      return countriesOf(liveIn(q), q.limit, rolledIn(q));
    },

    async aggregates(query) {
      const q = checkQuery(query);
      const rows = rowsIn(q)
        .sort((a, b) => compareCodePoints(a.day, b.day) || compareCodePoints(a.path, b.path))
        .map(copyAggregate);
      return q.limited ? rows.slice(0, q.limit) : rows;
    },
  };
}

/** Sums `[key, count]` entries by key: count desc, then key ascending in code-point order with null first; first `limit`. */
function ranked<K extends string | null>(entries: Iterable<[K, number]>, limit: number): [K, number][] {
  const counts = new Map<K, number>();
  for (const [key, n] of entries) counts.set(key, (counts.get(key) ?? 0) + n);
  return [...counts].sort(compareCounted).slice(0, limit);
}

function checkQuery(q: ReportQuery): Query {
  return checkReportQuery(q, SOURCE);
}
