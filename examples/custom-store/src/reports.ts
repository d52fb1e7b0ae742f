import {
  type CampaignRow,
  type DailyAggregate,
  matchPath,
  type PageView,
  type ReportQuery,
  type Reports,
  type SessionRollup,
  type TopPageRow,
} from '@anon/core';
import {
  type BotSelection,
  botSelectionOf,
  buildOverview,
  type CheckedQuery,
  checkFunnelSteps,
  checkMaxSteps,
  checkQuery as checkReportQuery,
  compareCampaignRows,
  compareCodePoints,
  compareCounted,
  compareJourneyRows,
  countedViews,
  countriesOf,
  entryPagesOf,
  exitPagesOf,
  funnelStepsReached,
  isLiveVisitorSession,
  isVisitorRollup,
  type LiveSession,
  liveSession,
  overviewViewDays,
  rollupsIn,
  sessionDays,
  sessionsReportOf,
  storedViewDays,
  visitorRollupDays,
} from '@anon/core/adapter';
import { type Tables, viewsBySession } from './tables.js';

// The rules every store shares come from `@anon/core/adapter`: query checks, the code-point tie order, which
// rollup rows a query counts and how the session-level reports add them up.
const SOURCE = 'array-store';
const checkQuery = (q: ReportQuery): CheckedQuery => checkReportQuery(q, SOURCE);

/** Days are inclusive; `YYYY-MM-DD` strings compare like the dates they name. */
const inRange = (day: string, q: CheckedQuery): boolean => day >= q.from && day <= q.to;

/** No path filter, or an exact path, or a pattern where `*` is any run of characters. */
const pathMatches = (path: string, q: CheckedQuery): boolean => q.path === null || matchPath(q.path, path);

/** Adds `n` to the count of `key`. */
function addCount<K>(counts: Map<K, number>, key: K, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** The counts as `[key, count]` rows ordered by count descending, then key ascending; at most `limit` rows. */
function topRows<K extends string | null>(counts: Map<K, number>, limit: number): [K, number][] {
  return [...counts].sort(compareCounted).slice(0, limit);
}

/** Counts per key, as {@link topRows}. */
function countByKey<K extends string | null>(keys: Iterable<K>, limit: number): [K, number][] {
  const counts = new Map<K, number>();
  for (const key of keys) addCount(counts, key, 1);
  return topRows(counts, limit);
}

/**
 * Every report of the `Store` port, by plain loops over the tables (docs/semantics.md, "Reports"). Page counts
 * come from the aggregate rows (they outlive purged page views); everything per session from the live sessions
 * (each summary merged with its stored page views), plus the session rollups of purged sessions (each row
 * counting as `row.sessions` sessions), so a purge changes no report but `funnel` and `journeys`.
 */
export function createReports(tables: Tables): Reports {
  /** Aggregate rows in range whose path matches. */
  const rowsIn = (q: CheckedQuery): DailyAggregate[] =>
    tables.aggregates.filter((row) => inRange(row.day, q) && pathMatches(row.path, q));

  /** Rollup rows of purged sessions, selected as `liveIn` selects sessions (core's `rollupsIn`). */
  const rolledIn = (q: CheckedQuery, bots: BotSelection = botSelectionOf(q)): SessionRollup[] =>
    rollupsIn(tables.sessionRollups, q, bots);

  /**
   * Sessions in range as every session-level report counts them: each summary merged with its stored page views
   * (`liveSession`), plus sessions whose views are stored but whose summary is not yet; landing page matching,
   * bots as `bots` says. Summaries are written only every few views, so a live session's summary is stale; its
   * page views are not.
   */
  const liveIn = (
    q: CheckedQuery,
    views: Map<string, PageView[]> = viewsBySession(tables.pageViews),
    bots: BotSelection = botSelectionOf(q),
  ): LiveSession[] => {
    const summaries = new Map(tables.sessions.map((s) => [s.id, s]));
    const ids = new Set([...summaries.keys(), ...views.keys()]);
    const found: LiveSession[] = [];
    for (const id of ids) {
      const s = liveSession(summaries.get(id) ?? null, views.get(id) ?? []);
      if (s === null || !inRange(s.day, q) || !pathMatches(s.landingPath, q)) continue;
      if (bots === 'include' || s.isBot === (bots === 'only')) found.push(s);
    }
    return found;
  };

  /** Sessions per key, as {@link topRows}: each live session counts 1, each rollup row its `sessions`. */
  const sessionsBy = <K extends string | null>(
    q: CheckedQuery,
    keyOf: (s: LiveSession | SessionRollup) => K,
  ): [K, number][] => {
    const counts = new Map<K, number>();
    for (const s of liveIn(q)) addCount(counts, keyOf(s), 1);
    for (const r of rolledIn(q)) addCount(counts, keyOf(r), r.sessions);
    return topRows(counts, q.limit);
  };

  const convertedSessionIds = (): Set<string> => new Set(tables.conversions.flatMap((c) => c.sessionIds));

  return {
    async topPages(query) {
      const q = checkQuery(query);
      const byPath = new Map<string, TopPageRow & { time: [number, number]; scroll: [number, number] }>();
      for (const row of rowsIn(q)) {
        let top = byPath.get(row.path);
        if (top === undefined) {
          top = {
            path: row.path,
            views: 0,
            uniqueVisitors: 0,
            authenticatedViews: 0,
            anonymousViews: 0,
            avgTimeOnPageMs: null,
            avgScrollDepth: null,
            time: [0, 0],
            scroll: [0, 0],
          };
          byPath.set(row.path, top);
        }
        // Human views, or with `includeBots` bot views too, split by login either way (core's `countedViews`).
        const counted = countedViews(row, q.includeBots);
        top.views += counted.views;
        top.authenticatedViews += counted.authenticatedViews;
        top.anonymousViews += counted.anonymousViews;
        // Human visitors only, bots or not. Visitor keys do not link across days, by design: the range's uniques
        // are the sum of daily uniques.
        top.uniqueVisitors += row.uniqueVisitors;
        top.time[0] += row.timeOnPageSumMs;
        top.time[1] += row.timeOnPageCount;
        top.scroll[0] += row.scrollDepthSum;
        top.scroll[1] += row.scrollDepthCount;
      }
      return [...byPath.values()]
        .filter((top) => top.views > 0)
        .sort((a, b) => b.views - a.views || compareCodePoints(a.path, b.path))
        .slice(0, q.limit)
        .map(({ time, scroll, ...top }) => ({
          ...top,
          avgTimeOnPageMs: time[1] === 0 ? null : time[0] / time[1],
          avgScrollDepth: scroll[1] === 0 ? null : scroll[0] / scroll[1],
        }));
    },

    async sessions(query) {
      const q = checkQuery(query);
      return sessionsReportOf(liveIn(q, viewsBySession(tables.pageViews)), rolledIn(q));
    },

    async conversions(query) {
      const q = checkQuery(query);
      const found = tables.conversions
        .filter((c) => inRange(c.day, q))
        .filter(
          (c) => q.path === null || (c.firstTouch !== null && matchPath(q.path, c.firstTouch.landingPath)),
        )
        .sort((a, b) => a.at - b.at || compareCodePoints(a.id, b.id));
      const converted = new Set(found.flatMap((c) => c.sessionIds));
      const linked = convertedSessionIds();
      // The denominator: sessions that could convert, live and purged (rollup rows), by core's rules.
      let visitorSessions = liveIn(q).filter((s) => isLiveVisitorSession(s, linked.has(s.id))).length;
      for (const r of rolledIn(q)) if (isVisitorRollup(r)) visitorSessions += r.sessions;
      return {
        signups: found.length,
        visitorSessions,
        convertedSessions: converted.size,
        conversionRate: visitorSessions === 0 ? null : converted.size / visitorSessions,
        conversions: found.slice(0, q.limit).map((c) => structuredClone(c)),
        byLandingPage: countByKey(
          found.flatMap((c) => (c.firstTouch === null ? [] : [c.firstTouch.landingPath])),
          q.limit,
        ).map(([path, conversions]) => ({ path, conversions })),
        byReferrer: countByKey(
          found.map((c) => c.firstTouch?.referrerHost ?? null),
          q.limit,
        ).map(([referrerHost, conversions]) => ({ referrerHost, conversions })),
      };
    },

    async funnel(query, steps) {
      const q = checkQuery(query);
      checkFunnelSteps(steps, SOURCE);
      const views = viewsBySession(tables.pageViews);
      const reached = steps.map(() => 0);
      for (const session of liveIn(q, views)) {
        const paths = (views.get(session.id) ?? []).map((view) => view.path);
        const next = funnelStepsReached(steps, paths);
        for (let k = 0; k < next; k++) reached[k] = (reached[k] as number) + 1;
      }
      return steps.map((step, k) => ({ step, sessions: reached[k] as number }));
    },

    async journeys(query) {
      const q = checkQuery(query);
      const maxSteps = checkMaxSteps(query.maxSteps, SOURCE);
      const views = viewsBySession(tables.pageViews);
      const converted = convertedSessionIds();
      const groups = new Map<string, { steps: string[]; sessions: number }>();
      for (const session of liveIn(q, views)) {
        const list = views.get(session.id);
        if (list === undefined) continue;
        const steps: string[] = [];
        for (const view of list) if (steps[steps.length - 1] !== view.path) steps.push(view.path);
        const journey = steps.slice(0, maxSteps);
        if (converted.has(session.id)) journey.push('(signup)');
        const key = JSON.stringify(journey);
        const group = groups.get(key) ?? { steps: journey, sessions: 0 };
        group.sessions += 1;
        groups.set(key, group);
      }
      return [...groups.values()].sort(compareJourneyRows).slice(0, q.limit);
    },

    async referrers(query) {
      const q = checkQuery(query);
      return sessionsBy(q, (s) => s.referrerHost).map(([referrerHost, sessions]) => ({
        referrerHost,
        sessions,
      }));
    },

    async campaigns(query) {
      const q = checkQuery(query);
      const groups = new Map<string, CampaignRow>();
      const add = ({ utmSource, utmMedium, utmCampaign }: LiveSession | SessionRollup, n: number) => {
        if (utmSource === null && utmMedium === null && utmCampaign === null) return;
        const key = JSON.stringify([utmSource, utmMedium, utmCampaign]);
        const group = groups.get(key) ?? { utmSource, utmMedium, utmCampaign, sessions: 0 };
        group.sessions += n;
        groups.set(key, group);
      };
      for (const s of liveIn(q)) add(s, 1);
      for (const r of rolledIn(q)) add(r, r.sessions);
      return [...groups.values()].sort(compareCampaignRows).slice(0, q.limit);
    },

    async devices(query) {
      const q = checkQuery(query);
      return {
        devices: sessionsBy(q, (s) => s.device).map(([device, sessions]) => ({ device, sessions })),
        browsers: sessionsBy(q, (s) => s.browser).map(([browser, sessions]) => ({ browser, sessions })),
        os: sessionsBy(q, (s) => s.os).map(([os, sessions]) => ({ os, sessions })),
      };
    },

    async bots(query) {
      const q = checkQuery(query);
      const byPath = new Map<string, number>();
      let views = 0;
      for (const row of rowsIn(q)) {
        views += row.botViews;
        if (row.botViews > 0) byPath.set(row.path, (byPath.get(row.path) ?? 0) + row.botViews);
      }
      let sessions = liveIn(q, undefined, 'only').length;
      for (const r of rolledIn(q, 'only')) sessions += r.sessions;
      return {
        views,
        sessions,
        topPaths: [...byPath]
          .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
          .slice(0, q.limit)
          .map(([path, pathViews]) => ({ path, views: pathViews })),
      };
    },

    async overview(query) {
      const q = checkQuery(query);
      // Page-view counts from the aggregate rows (they survive purge); unique visitors from the stored views
      // plus the visitor rollups of purged ones; sessions from the live sessions plus the session rollups.
      const views = overviewViewDays(
        rowsIn(q),
        storedViewDays(tables.pageViews, q),
        visitorRollupDays(tables.visitorRollups, q),
        q,
      );
      return buildOverview(views, sessionDays(liveIn(q, viewsBySession(tables.pageViews)), rolledIn(q)));
    },

    async entryPages(query) {
      const q = checkQuery(query);
      return entryPagesOf(liveIn(q, viewsBySession(tables.pageViews)), q.limit, rolledIn(q));
    },

    async exitPages(query) {
      const q = checkQuery(query);
      return exitPagesOf(liveIn(q, viewsBySession(tables.pageViews)), q.limit, rolledIn(q));
    },

    async countries(query) {
      const q = checkQuery(query);
      return countriesOf(liveIn(q, viewsBySession(tables.pageViews)), q.limit, rolledIn(q));
    },

    async aggregates(query) {
      const q = checkQuery(query);
      const rows = rowsIn(q)
        .sort((a, b) => compareCodePoints(a.day, b.day) || compareCodePoints(a.path, b.path))
        .map((row) => ({ ...row }));
      return q.limited ? rows.slice(0, q.limit) : rows;
    },
  };
}
