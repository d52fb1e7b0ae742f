import { matchPath } from '../match-path.js';
import { compareKeys } from '../memory/code-point-order.js';
import type {
  CountryRow,
  Day,
  EntryPageRow,
  ExitPageRow,
  OverviewFigures,
  OverviewReport,
  PageView,
  SessionsReport,
} from '../types.js';
import type { CheckedQuery } from './check-query.js';
import type { LiveSession } from './live-session.js';

// The session-and-visitor reports of docs/semantics.md ("Reports": overview, entryPages, exitPages, countries),
// assembled once from what a store reads: page-view figures per day and the live sessions of the range.

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
 * visitor keys of the counted views of that day.
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

/** Session figures per day (the session's day) of live sessions already selected for a query. */
export function sessionDays(sessions: readonly LiveSession[]): Map<Day, SessionDayFigures> {
  const days = new Map<Day, SessionDayFigures>();
  for (const s of sessions) {
    let d = days.get(s.day);
    if (d === undefined) {
      d = { sessions: 0, authenticatedSessions: 0, bounces: 0, durationSum: 0 };
      days.set(s.day, d);
    }
    d.sessions++;
    if (s.authenticated) d.authenticatedSessions++;
    if (s.pageViews === 1) d.bounces++;
    d.durationSum += s.durationMs;
  }
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

/** `entryPages`: live sessions by landing page with their bounces; sessions desc, then path; `limit` rows. */
export function entryPagesOf(sessions: readonly LiveSession[], limit: number): EntryPageRow[] {
  const rows = new Map<string, EntryPageRow>();
  for (const s of sessions) {
    const row = rows.get(s.landingPath) ?? { path: s.landingPath, sessions: 0, bounces: 0 };
    row.sessions++;
    if (s.pageViews === 1) row.bounces++;
    rows.set(s.landingPath, row);
  }
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.path, b.path))
    .slice(0, limit);
}

/** `exitPages`: live sessions by exit page; sessions desc, then path; `limit` rows. */
export function exitPagesOf(sessions: readonly LiveSession[], limit: number): ExitPageRow[] {
  const rows = new Map<string, ExitPageRow>();
  for (const s of sessions) {
    const row = rows.get(s.exitPath) ?? { path: s.exitPath, sessions: 0 };
    row.sessions++;
    rows.set(s.exitPath, row);
  }
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.path, b.path))
    .slice(0, limit);
}

/** `countries`: live sessions and their page views by country; sessions desc, then country (null first). */
export function countriesOf(sessions: readonly LiveSession[], limit: number): CountryRow[] {
  const rows = new Map<string | null, CountryRow>();
  for (const s of sessions) {
    const row = rows.get(s.country) ?? { country: s.country, sessions: 0, views: 0 };
    row.sessions++;
    row.views += s.pageViews;
    rows.set(s.country, row);
  }
  return [...rows.values()]
    .sort((a, b) => b.sessions - a.sessions || compareKeys(a.country, b.country))
    .slice(0, limit);
}

/** `sessions`: the figures of live sessions already selected for a query. */
export function sessionsReportOf(sessions: readonly LiveSession[]): SessionsReport {
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
  const n = sessions.length;
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
