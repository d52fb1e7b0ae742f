import {
  type CampaignRow,
  type DailyAggregate,
  matchPath,
  type PageView,
  type ReportQuery,
  type Reports,
  type Session,
  type TopPageRow,
} from '@anon/core';
import {
  buildOverview,
  type CheckedQuery,
  checkFunnelSteps,
  checkMaxSteps,
  checkQuery as checkReportQuery,
  compareCampaignRows,
  compareCodePoints,
  compareCounted,
  compareJourneyRows,
  countriesOf,
  entryPagesOf,
  exitPagesOf,
  funnelStepsReached,
  type LiveSession,
  liveSession,
  sessionDays,
  sessionsReportOf,
  viewDays,
} from '@anon/core/adapter';
import type { Tables } from './tables.js';

// The rules every store shares come from `@anon/core/adapter`: query checks, the code-point tie order.
const SOURCE = 'array-store';
const checkQuery = (q: ReportQuery): CheckedQuery => checkReportQuery(q, SOURCE);

/** Days are inclusive; `YYYY-MM-DD` strings compare like the dates they name. */
const inRange = (day: string, q: CheckedQuery): boolean => day >= q.from && day <= q.to;

/** No path filter, or an exact path, or a pattern where `*` is any run of characters. */
const pathMatches = (path: string, q: CheckedQuery): boolean => q.path === null || matchPath(q.path, path);

/** Counts per key, as rows ordered by count descending, then key ascending; at most `limit` rows. */
function countByKey<K extends string | null>(keys: Iterable<K>, limit: number): [K, number][] {
  const counts = new Map<K, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].sort(compareCounted).slice(0, limit);
}

/**
 * Every report of the `Store` port, by plain loops over the tables (docs/semantics.md, "Reports"). Page counts
 * come from the aggregate rows (they outlive purged page views); everything per session from the sessions.
 */
export function createReports(tables: Tables): Reports {
  /** Aggregate rows in range whose path matches. */
  const rowsIn = (q: CheckedQuery): DailyAggregate[] =>
    tables.aggregates.filter((row) => inRange(row.day, q) && pathMatches(row.path, q));

  /** Sessions whose first day is in range and whose landing page matches; bots only when asked. */
  const sessionsIn = (q: CheckedQuery, includeBots = q.includeBots): Session[] =>
    tables.sessions.filter(
      (s) => inRange(s.day, q) && pathMatches(s.landingPath, q) && (includeBots || !s.isBot),
    );

  /** The stored page views of each session, in session order. */
  const viewsBySession = (): Map<string, PageView[]> => {
    const bySession = new Map<string, PageView[]>();
    for (const view of tables.pageViews) {
      if (view.sessionId === null) continue;
      const list = bySession.get(view.sessionId) ?? [];
      list.push(view);
      bySession.set(view.sessionId, list);
    }
    for (const list of bySession.values()) list.sort((a, b) => a.seq - b.seq);
    return bySession;
  };

  /**
   * Sessions in range as the session-level reports count them: each summary merged with its stored page views
   * (`liveSession`), plus sessions whose views are stored but whose summary is not yet. Summaries are written
   * only every few views, so a live session's summary is stale; its page views are not.
   */
  const liveIn = (q: CheckedQuery, views: Map<string, PageView[]>): LiveSession[] => {
    const summaries = new Map(tables.sessions.map((s) => [s.id, s]));
    const ids = new Set([...summaries.keys(), ...views.keys()]);
    const found: LiveSession[] = [];
    for (const id of ids) {
      const s = liveSession(summaries.get(id) ?? null, views.get(id) ?? []);
      if (s === null || !inRange(s.day, q) || !pathMatches(s.landingPath, q)) continue;
      if (q.includeBots || !s.isBot) found.push(s);
    }
    return found;
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
        top.views += row.views + (q.includeBots ? row.botViews : 0);
        // Visitor keys do not link across days, by design: the range's uniques are the sum of daily uniques.
        top.uniqueVisitors += row.uniqueVisitors;
        top.authenticatedViews += row.authenticatedViews;
        top.anonymousViews += row.anonymousViews;
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
      return sessionsReportOf(liveIn(checkQuery(query), viewsBySession()));
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
      // The denominator: sessions that began anonymous (no user id, or one obtained by converting).
      const visitorSessions = sessionsIn(q).filter((s) => s.userId === null || linked.has(s.id)).length;
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
      const views = viewsBySession();
      const reached = steps.map(() => 0);
      for (const session of sessionsIn(q)) {
        const paths = (views.get(session.id) ?? []).map((view) => view.path);
        const next = funnelStepsReached(steps, paths);
        for (let k = 0; k < next; k++) reached[k] = (reached[k] as number) + 1;
      }
      return steps.map((step, k) => ({ step, sessions: reached[k] as number }));
    },

    async journeys(query) {
      const q = checkQuery(query);
      const maxSteps = checkMaxSteps(query.maxSteps, SOURCE);
      const views = viewsBySession();
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
      return countByKey(
        sessionsIn(q).map((s) => s.referrerHost),
        q.limit,
      ).map(([referrerHost, sessions]) => ({ referrerHost, sessions }));
    },

    async campaigns(query) {
      const q = checkQuery(query);
      const groups = new Map<string, CampaignRow>();
      for (const s of sessionsIn(q)) {
        const { utmSource, utmMedium, utmCampaign } = s;
        if (utmSource === null && utmMedium === null && utmCampaign === null) continue;
        const key = JSON.stringify([utmSource, utmMedium, utmCampaign]);
        const group = groups.get(key) ?? { utmSource, utmMedium, utmCampaign, sessions: 0 };
        group.sessions += 1;
        groups.set(key, group);
      }
      return [...groups.values()].sort(compareCampaignRows).slice(0, q.limit);
    },

    async devices(query) {
      const q = checkQuery(query);
      const found = sessionsIn(q);
      return {
        devices: countByKey(
          found.map((s) => s.device),
          q.limit,
        ).map(([device, sessions]) => ({ device, sessions })),
        browsers: countByKey(
          found.map((s) => s.browser),
          q.limit,
        ).map(([browser, sessions]) => ({ browser, sessions })),
        os: countByKey(
          found.map((s) => s.os),
          q.limit,
        ).map(([os, sessions]) => ({ os, sessions })),
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
      return {
        views,
        sessions: sessionsIn(q, true).filter((s) => s.isBot).length,
        topPaths: [...byPath]
          .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
          .slice(0, q.limit)
          .map(([path, pathViews]) => ({ path, views: pathViews })),
      };
    },

    async overview(query) {
      const q = checkQuery(query);
      return buildOverview(viewDays(tables.pageViews, q), sessionDays(liveIn(q, viewsBySession())));
    },

    async entryPages(query) {
      const q = checkQuery(query);
      return entryPagesOf(liveIn(q, viewsBySession()), q.limit);
    },

    async exitPages(query) {
      const q = checkQuery(query);
      return exitPagesOf(liveIn(q, viewsBySession()), q.limit);
    },

    async countries(query) {
      const q = checkQuery(query);
      return countriesOf(liveIn(q, viewsBySession()), q.limit);
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
