import { matchPath } from '../match-path.js';
import { compareKeys } from '../memory/code-point-order.js';
import type {
  CountryRow,
  DailyAggregate,
  Day,
  EntryPageRow,
  ExitPageRow,
  OverviewFigures,
  OverviewReport,
  PageView,
  SessionRollup,
  SessionsReport,
} from '../types.js';
import type { CheckedQuery } from './check-query.js';
import type { LiveSession } from './live-session.js';

// The session-and-visitor reports of docs/semantics.md ("Reports": overview, entryPages, exitPages, countries),
// assembled once from what a store reads: page-view figures per day, the live sessions of the range and the
// rollup rows of purged sessions (`rollupsIn`), each rollup row counting as `row.sessions` sessions.

/** Page-view figures of one day; a store may count them in its database. */
export interface ViewDayFigures {
  uniqueVisitors: number;
  pageViews: number;
  authenticatedViews: number;
  anonymousViews: number;
  botViews: number;
}

/**
 * Page-view figures per day of `views` under query `q`: day in range and path matching; bot views counted
 * apart, and in `pageViews` (and its split) too with `includeBots`; unique visitors are the distinct non-null
 * visitor keys of the counted views of that day. (`overview` itself reads the page-view counts from the
 * aggregates, which survive purge: {@link overviewViewDays}.)
 */
export function viewDays(views: Iterable<PageView>, q: CheckedQuery): Map<Day, ViewDayFigures> {
  const days = new Map<Day, ViewDayFigures & { keys: Set<string> }>();
  for (const view of views) {
    if (view.day < q.from || view.day > q.to) continue;
    if (q.path !== null && !matchPath(q.path, view.path)) continue;
    let d = days.get(view.day);
    if (d === undefined) {
      d = {
        uniqueVisitors: 0,
        pageViews: 0,
        authenticatedViews: 0,
        anonymousViews: 0,
        botViews: 0,
        keys: new Set(),
      };
      days.set(view.day, d);
    }
    if (view.isBot) d.botViews++;
    if (view.isBot && !q.includeBots) continue;
    d.pageViews++;
    if (view.authenticated) d.authenticatedViews++;
    else d.anonymousViews++;
    if (view.visitorKey !== null) d.keys.add(view.visitorKey);
  }
  const out = new Map<Day, ViewDayFigures>();
  for (const [day, { keys, ...d }] of days) out.set(day, { ...d, uniqueVisitors: keys.size });
  return out;
}

const zero = (): OverviewFigures => ({
  uniqueVisitors: 0,
  pageViews: 0,
  authenticatedViews: 0,
  anonymousViews: 0,
  botViews: 0,
  sessions: 0,
  authenticatedSessions: 0,
  anonymousSessions: 0,
  bounces: 0,
  bounceRate: null,
  avgDurationMs: null,
});

/** Session figures of one day; a store may count them in its database. */
export interface SessionDayFigures {
  sessions: number;
  authenticatedSessions: number;
  bounces: number;
  /** Sum of the sessions' durations, in ms. */
  durationSum: number;
}

/**
 * Session figures per day (the session's day) of live sessions and rollup rows already selected for a query
 * (`rollupsIn`).
 */
export function sessionDays(
  sessions: readonly LiveSession[],
  rollups: readonly SessionRollup[] = [],
): Map<Day, SessionDayFigures> {
  const days = new Map<Day, SessionDayFigures>();
  const at = (day: Day): SessionDayFigures => {
    let d = days.get(day);
    if (d === undefined) {
      d = { sessions: 0, authenticatedSessions: 0, bounces: 0, durationSum: 0 };
      days.set(day, d);
    }
    return d;
  };
  for (const s of sessions) {
    const d = at(s.day);
    d.sessions++;
    if (s.authenticated) d.authenticatedSessions++;
    if (s.pageViews === 1) d.bounces++;
    d.durationSum += s.durationMs;
  }
  for (const r of rollups) {
    const d = at(r.day);
    d.sessions += r.sessions;
    if (r.authenticated) d.authenticatedSessions += r.sessions;
    d.bounces += r.bounces;
    d.durationSum += r.durationMs;
  }
  return days;
}

/** What the stored page views of one day add to the aggregates in `overview`; a store may count it in its database. */
export interface StoredViewDayFigures {
  /** Distinct non-null visitor keys of the day's stored counted views (bot views too with `includeBots`). */
  uniqueVisitors: number;
  /**
   * @deprecated Ignored: the aggregate rows split bot views by login themselves (`botAuthenticatedViews`).
   * Kept optional so a store still passing it compiles; it will be removed.
   */
  authenticatedBotViews?: number;
}

/** {@link StoredViewDayFigures} per day of `views` under `q` (day in range, path matching). */
export function storedViewDays(views: Iterable<PageView>, q: CheckedQuery): Map<Day, StoredViewDayFigures> {
  const days = new Map<Day, Set<string>>();
  for (const view of views) {
    if (view.day < q.from || view.day > q.to) continue;
    if (q.path !== null && !matchPath(q.path, view.path)) continue;
    if (view.isBot && !q.includeBots) continue;
    let keys = days.get(view.day);
    if (keys === undefined) {
      keys = new Set();
      days.set(view.day, keys);
    }
    if (view.visitorKey !== null) keys.add(view.visitorKey);
  }
  const out = new Map<Day, StoredViewDayFigures>();
  for (const [day, keys] of days) out.set(day, { uniqueVisitors: keys.size });
  return out;
}

/**
 * The page views an aggregate row counts under `includeBots`, split by login so that `views =
 * authenticatedViews + anonymousViews` holds with or without bots: without, its human counts; with, the bot
 * views added (`botAuthenticatedViews` to the authenticated, the other bot views to the anonymous). Every
 * report that splits views by login (`topPages`, `overview`) counts a row through this.
 */
export function countedViews(
  row: Pick<
    DailyAggregate,
    'views' | 'authenticatedViews' | 'anonymousViews' | 'botViews' | 'botAuthenticatedViews'
  >,
  includeBots: boolean,
): { views: number; authenticatedViews: number; anonymousViews: number } {
  if (!includeBots) {
    return {
      views: row.views,
      authenticatedViews: row.authenticatedViews,
      anonymousViews: row.anonymousViews,
    };
  }
  return {
    views: row.views + row.botViews,
    authenticatedViews: row.authenticatedViews + row.botAuthenticatedViews,
    anonymousViews: row.anonymousViews + row.botViews - row.botAuthenticatedViews,
  };
}

/**
 * Page-view figures per day for `overview` under `q`, from what survives purge: the daily aggregate rows
 * (already selected: day in range, path matching) give `pageViews`, `authenticatedViews` and `anonymousViews`
 * ({@link countedViews}: bot views too, split by login, with `includeBots`) and `botViews`; the stored views
 * (`stored`, from {@link storedViewDays}) give the day's distinct visitors; the visitor rollups
 * (`purgedVisitors`, from `visitorRollupDays`) add the visitors of purged views. A day is present when it has
 * a page view or a purged visitor.
 */
export function overviewViewDays(
  aggregates: Iterable<DailyAggregate>,
  stored: Map<Day, StoredViewDayFigures>,
  purgedVisitors: Map<Day, number>,
  q: Pick<CheckedQuery, 'includeBots'>,
): Map<Day, ViewDayFigures> {
  const days = new Map<Day, ViewDayFigures>();
  const at = (day: Day): ViewDayFigures => {
    let d = days.get(day);
    if (d === undefined) {
      d = { uniqueVisitors: 0, pageViews: 0, authenticatedViews: 0, anonymousViews: 0, botViews: 0 };
      days.set(day, d);
    }
    return d;
  };
  for (const row of aggregates) {
    if (row.views === 0 && row.botViews === 0) continue;
    const d = at(row.day);
    const counted = countedViews(row, q.includeBots);
    d.pageViews += counted.views;
    d.authenticatedViews += counted.authenticatedViews;
    d.anonymousViews += counted.anonymousViews;
    d.botViews += row.botViews;
  }
  for (const [day, s] of stored) at(day).uniqueVisitors += s.uniqueVisitors;
  for (const [day, n] of purgedVisitors) if (n !== 0) at(day).uniqueVisitors += n;
  return days;
}

/**
 * The overview from per-day page-view figures and per-day session figures (sessions selected for the query:
 * day in range, landing page, bots as asked). Days with neither are left out; the total sums the days.
 */
export function buildOverview(
  views: Map<Day, ViewDayFigures>,
  sessions: Map<Day, SessionDayFigures>,
): OverviewReport {
  const days = new Map<Day, OverviewFigures & { durationSum: number }>();
  const at = (day: Day) => {
    let d = days.get(day);
    if (d === undefined) {
      d = { ...zero(), durationSum: 0 };
      days.set(day, d);
    }
    return d;
  };
  for (const [day, v] of views) Object.assign(at(day), v);
  for (const [day, s] of sessions) {
    Object.assign(at(day), s, { anonymousSessions: s.sessions - s.authenticatedSessions });
  }
  const total = { ...zero(), durationSum: 0 };
  const rows: OverviewReport['days'] = [];
  const finish = (d: OverviewFigures & { durationSum: number }): OverviewFigures => {
    const { durationSum, ...figures } = d;
    return {
      ...figures,
      bounceRate: d.sessions === 0 ? null : d.bounces / d.sessions,
      avgDurationMs: d.sessions === 0 ? null : durationSum / d.sessions,
    };
  };
  for (const day of [...days.keys()].sort()) {
    const d = days.get(day)!;
    for (const k of [
      'uniqueVisitors',
      'pageViews',
      'authenticatedViews',
      'anonymousViews',
      'botViews',
      'sessions',
      'authenticatedSessions',
      'anonymousSessions',
      'bounces',
      'durationSum',
    ] as const) {
      total[k] += d[k];
    }
    rows.push({ day, ...finish(d) });
  }
  return { days: rows, total: finish(total) };
}

/**
 * `entryPages`: live sessions and rollup rows (both selected for the query) by landing page with their bounces;
 * sessions desc, then path; `limit` rows.
 */
export function entryPagesOf(
  sessions: readonly LiveSession[],
  limit: number,
  rollups: readonly SessionRollup[] = [],
): EntryPageRow[] {
  const rows = new Map<string, EntryPageRow>();
  const add = (path: string, n: number, bounces: number) => {
    const row = rows.get(path) ?? { path, sessions: 0, bounces: 0 };
    row.sessions += n;
    row.bounces += bounces;
    rows.set(path, row);
  };
  for (const s of sessions) add(s.landingPath, 1, s.pageViews === 1 ? 1 : 0);
  for (const r of rollups) add(r.landingPath, r.sessions, r.bounces);
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.path, b.path))
    .slice(0, limit);
}

/** `exitPages`: live sessions and rollup rows by exit page; sessions desc, then path; `limit` rows. */
export function exitPagesOf(
  sessions: readonly LiveSession[],
  limit: number,
  rollups: readonly SessionRollup[] = [],
): ExitPageRow[] {
  const rows = new Map<string, ExitPageRow>();
  const add = (path: string, n: number) => {
    const row = rows.get(path) ?? { path, sessions: 0 };
    row.sessions += n;
    rows.set(path, row);
  };
  for (const s of sessions) add(s.exitPath, 1);
  for (const r of rollups) add(r.exitPath, r.sessions);
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.path, b.path))
    .slice(0, limit);
}

/**
 * `countries`: live sessions and rollup rows, and their page views, by country; sessions desc, then country
 * (null first).
 */
export function countriesOf(
  sessions: readonly LiveSession[],
  limit: number,
  rollups: readonly SessionRollup[] = [],
): CountryRow[] {
  const rows = new Map<string | null, CountryRow>();
  const add = (country: string | null, n: number, views: number) => {
    const row = rows.get(country) ?? { country, sessions: 0, views: 0 };
    row.sessions += n;
    row.views += views;
    rows.set(country, row);
  };
  for (const s of sessions) add(s.country, 1, s.pageViews);
  for (const r of rollups) add(r.country, r.sessions, r.pageViews);
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.country, b.country))
    .slice(0, limit);
}

/** `sessions`: the figures of live sessions and rollup rows already selected for a query. */
export function sessionsReportOf(
  sessions: readonly LiveSession[],
  rollups: readonly SessionRollup[] = [],
): SessionsReport {
  let n = sessions.length;
  let authenticated = 0;
  let pageViews = 0;
  let bounces = 0;
  let duration = 0;
  for (const s of sessions) {
    if (s.authenticated) authenticated++;
    pageViews += s.pageViews;
    if (s.pageViews === 1) bounces++;
    duration += s.durationMs;
  }
  for (const r of rollups) {
    n += r.sessions;
    if (r.authenticated) authenticated += r.sessions;
    pageViews += r.pageViews;
    bounces += r.bounces;
    duration += r.durationMs;
  }
  return {
    sessions: n,
    authenticatedSessions: authenticated,
    anonymousSessions: n - authenticated,
    pageViews,
    bounces,
    avgDurationMs: n === 0 ? null : duration / n,
    pagesPerSession: n === 0 ? null : pageViews / n,
    bounceRate: n === 0 ? null : bounces / n,
  };
}
