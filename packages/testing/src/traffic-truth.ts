import type {
  BotsReport,
  CampaignRow,
  Conversion,
  ConversionsReport,
  CountryRow,
  DailyAggregate,
  DevicesReport,
  DeviceType,
  EntryPageRow,
  ExitPageRow,
  FunnelStepRow,
  JourneyRow,
  OverviewFigures,
  OverviewReport,
  PageMetric,
  PageView,
  ReferrerRow,
  ReportQuery,
  Session,
  SessionsReport,
  TopPageRow,
} from '@anon/core';
import { compareKeyLists, compareKeys } from '@anon/core/adapter';

// Ground truth for every report, by brute force over the stored rows. Deliberately plain loops with no
// shared code with any store (not even core's `matchPath` or `recomputeAggregates`), so a bug in one
// cannot hide the same bug in the other. The one exception is the tie order: code-point order is a single
// rule every store and this truth must share (two comparers that differ on U+E000–U+FFFF against astral
// characters were a real bug), and core's property tests tie it to a brute-force reference.

/** What a store holds after a workload: every page view, metric, session and conversion, deduplicated. */
export interface TruthData {
  views: PageView[];
  metrics: PageMetric[];
  sessions: Session[];
  conversions: Conversion[];
}

/** Extra arguments of the reports that take them. */
export interface ReportExtras {
  /** Funnel steps. @default ['/', '/pricing', '/signup'] */
  funnelSteps?: string[];
  /** Journey length. @default 5 */
  maxSteps?: number;
}

/** Every report at once, as `readReports` reads them from a store and `TrafficTruth.reports` computes them. */
export interface ReportSet {
  topPages: TopPageRow[];
  sessions: SessionsReport;
  conversions: ConversionsReport;
  funnel: FunnelStepRow[];
  journeys: JourneyRow[];
  referrers: ReferrerRow[];
  campaigns: CampaignRow[];
  devices: DevicesReport;
  bots: BotsReport;
  aggregates: DailyAggregate[];
}

/** The expected result of every `Store` report for any query, computed from the rows themselves. */
export interface TrafficTruth {
  readonly data: TruthData;
  topPages(q: ReportQuery): TopPageRow[];
  sessions(q: ReportQuery): SessionsReport;
  /**
   * `path` keeps the conversions whose first-touch landing page matches and filters `visitorSessions` by landing
   * page; `includeBots` adds bot sessions to `visitorSessions`.
   */
  conversions(q: ReportQuery): ConversionsReport;
  funnel(q: ReportQuery, steps: string[]): FunnelStepRow[];
  journeys(q: ReportQuery & { maxSteps?: number }): JourneyRow[];
  referrers(q: ReportQuery): ReferrerRow[];
  campaigns(q: ReportQuery): CampaignRow[];
  devices(q: ReportQuery): DevicesReport;
  bots(q: ReportQuery): BotsReport;
  aggregates(q: ReportQuery): DailyAggregate[];
  overview(q: ReportQuery): OverviewReport;
  entryPages(q: ReportQuery): EntryPageRow[];
  exitPages(q: ReportQuery): ExitPageRow[];
  countries(q: ReportQuery): CountryRow[];
  reports(q: ReportQuery, extras?: ReportExtras): ReportSet;
}

/** The funnel the generated traffic walks: home, pricing, sign-up. */
export const DEFAULT_FUNNEL = ['/', '/pricing', '/signup'];

/** `*` is any run of characters (`/` included); anything else, `%`, `_`, `.`, `$` included, is literal. */
export function pathMatchesPattern(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) return pattern === path;
  const parts = pattern.split('*');
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!path.startsWith(first)) return false;
  if (path.length - first.length < last.length || !path.endsWith(last)) return false;
  let at = first.length;
  const end = path.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const found = path.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function inRange(day: string, q: ReportQuery): boolean {
  return day >= q.from && day <= q.to;
}

function pathOk(path: string, q: ReportQuery): boolean {
  return q.path === undefined || pathMatchesPattern(q.path, path);
}

function limitOf(q: ReportQuery): number {
  return q.limit ?? 100;
}

function countDesc<K extends string | null>(counts: Map<K, number>): { key: K; count: number }[] {
  const rows: { key: K; count: number }[] = [];
  for (const [key, count] of counts) rows.push({ key, count });
  rows.sort((a, b) => b.count - a.count || compareKeys(a.key, b.key));
  return rows;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** A session as the session-level reports count it, recomputed from its stored rows. */
export interface LiveSessionTruth {
  id: string;
  /** The summary's day, else the day of its landing view (lowest `seq`). */
  day: string;
  /** The summary's landing page, else the landing view's path. */
  landingPath: string;
  /** The summary says bot, or any stored view of the session is a bot view. */
  isBot: boolean;
  /** The summary or any stored view carries a user id. */
  authenticated: boolean;
  /** The last stored view's path (highest `seq`), else the summary's exit page. */
  exitPath: string;
  /** The summary's country, else the landing view's. */
  country: string | null;
  /** The greater of the summary's count and the number of stored views. */
  pageViews: number;
  /** Latest minus earliest time known from the summary and the stored views. */
  durationMs: number;
  /** Source and device (`referrerHost`, `utmSource`, `utmMedium`, `utmCampaign`): the summary's, else the landing view's. */
  referrerHost: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  /** Device, browser and OS: the summary's, else the landing view's. */
  device: DeviceType;
  browser: string | null;
  os: string | null;
}

/**
 * Every session of a store's rows, whether a summary of it is stored or only its page views: the summary and
 * the stored views merged, so a summary written on the first view and never since (a live session) counts
 * what its views say — group by `sessionId`, duration = last − first view, bounce = one view. Unsessioned
 * views (`sessionId` null) are not sessions.
 */
export function liveSessionsOf(data: TruthData): LiveSessionTruth[] {
  const summaries = new Map<string, Session>();
  for (const s of data.sessions) summaries.set(s.id, s);
  const views = new Map<string, PageView[]>();
  for (const view of data.views) {
    if (view.sessionId === null) continue;
    const list = views.get(view.sessionId) ?? [];
    list.push(view);
    views.set(view.sessionId, list);
  }
  const ids = new Set<string>([...summaries.keys(), ...views.keys()]);
  const out: LiveSessionTruth[] = [];
  for (const id of ids) {
    const summary = summaries.get(id) ?? null;
    const list = views.get(id) ?? [];
    let landing: PageView | null = null;
    let exit: PageView | null = null;
    let first = summary === null ? Number.POSITIVE_INFINITY : summary.startedAt;
    let last = summary === null ? Number.NEGATIVE_INFINITY : summary.lastSeenAt;
    let isBot = summary?.isBot ?? false;
    let authenticated = summary !== null && summary.userId !== null;
    for (const view of list) {
      if (landing === null || view.seq < landing.seq || (view.seq === landing.seq && view.id < landing.id)) {
        landing = view;
      }
      if (exit === null || view.seq > exit.seq || (view.seq === exit.seq && view.id > exit.id)) exit = view;
      if (view.at < first) first = view.at;
      if (view.at > last) last = view.at;
      if (view.isBot) isBot = true;
      if (view.userId !== null) authenticated = true;
    }
    // Attributes of the session: its summary's when one is stored, else its landing view's (the summary is
    // written from the landing view, so both say the same once it arrives).
    const from: Session | PageView = summary ?? (landing as PageView);
    out.push({
      id,
      day: summary?.day ?? (landing as PageView).day,
      landingPath: summary?.landingPath ?? (landing as PageView).path,
      exitPath: exit !== null ? exit.path : (summary as Session).exitPath,
      country: from.country,
      isBot,
      authenticated,
      pageViews: Math.max(summary?.pageViews ?? 0, list.length),
      durationMs: last - first,
      referrerHost: from.referrerHost,
      utmSource: from.utmSource,
      utmMedium: from.utmMedium,
      utmCampaign: from.utmCampaign,
      device: from.device,
      browser: from.browser,
      os: from.os,
    });
  }
  return out;
}

/**
 * What a store holds once the sessions in `botSessions` are flagged bot sessions (`botsession` events,
 * docs/semantics.md "Bot sessions"): every page view of them a bot view, with the reason `'rate'` added, and
 * every metric of them a bot metric. Rows of other sessions, and rows already bots, are returned as they are;
 * flagged rows are new objects (the input is not changed).
 */
export function withBotSessions(data: TruthData, botSessions: ReadonlySet<string>): TruthData {
  const flagged = (sessionId: string | null): boolean => sessionId !== null && botSessions.has(sessionId);
  return {
    ...data,
    views: data.views.map((v) =>
      v.isBot || !flagged(v.sessionId)
        ? v
        : {
            ...v,
            isBot: true,
            botReasons: v.botReasons.includes('rate') ? [...v.botReasons] : [...v.botReasons, 'rate'],
          },
    ),
    metrics: data.metrics.map((m) => (m.isBot || !flagged(m.sessionId) ? m : { ...m, isBot: true })),
  };
}

/** Build the truth over a store's final contents. */
export function computeTruth(data: TruthData): TrafficTruth {
  const viewsBySession = new Map<string, PageView[]>();
  for (const view of data.views) {
    if (view.sessionId === null) continue;
    const list = viewsBySession.get(view.sessionId) ?? [];
    list.push(view);
    viewsBySession.set(view.sessionId, list);
  }
  for (const list of viewsBySession.values()) list.sort((a, b) => a.seq - b.seq);
  const convertedSessionIds = new Set<string>();
  for (const conversion of data.conversions)
    for (const id of conversion.sessionIds) convertedSessionIds.add(id);

  const topPages = (q: ReportQuery): TopPageRow[] => {
    interface Acc {
      views: number;
      visitors: Set<string>;
      authenticated: number;
      anonymous: number;
      timeSum: number;
      timeCount: number;
      scrollSum: number;
      scrollCount: number;
    }
    const rows = new Map<string, Acc>();
    const acc = (path: string): Acc => {
      let row = rows.get(path);
      if (!row) {
        row = {
          views: 0,
          visitors: new Set(),
          authenticated: 0,
          anonymous: 0,
          timeSum: 0,
          timeCount: 0,
          scrollSum: 0,
          scrollCount: 0,
        };
        rows.set(path, row);
      }
      return row;
    };
    for (const view of data.views) {
      if (!inRange(view.day, q) || !pathOk(view.path, q)) continue;
      const row = acc(view.path);
      if (view.isBot && !q.includeBots) continue;
      // With bots, bot views count too, each on its side of the login split (views = authenticated + anonymous).
      row.views += 1;
      if (view.authenticated) row.authenticated += 1;
      else row.anonymous += 1;
      if (view.isBot) continue;
      // Unique visitors are per day: the sum of daily uniques (keys do not link across days).
      if (view.visitorKey !== null) row.visitors.add(`${view.day}\u0000${view.visitorKey}`);
    }
    for (const metric of data.metrics) {
      if (metric.isBot || !inRange(metric.day, q) || !pathOk(metric.path, q)) continue;
      const row = acc(metric.path);
      if (metric.metric === 'time_on_page') {
        row.timeSum += metric.value;
        row.timeCount += 1;
      } else if (metric.metric === 'scroll_depth') {
        row.scrollSum += metric.value;
        row.scrollCount += 1;
      }
    }
    const out: TopPageRow[] = [];
    for (const [path, row] of rows) {
      if (row.views === 0) continue;
      out.push({
        path,
        views: row.views,
        uniqueVisitors: row.visitors.size,
        authenticatedViews: row.authenticated,
        anonymousViews: row.anonymous,
        avgTimeOnPageMs: row.timeCount === 0 ? null : row.timeSum / row.timeCount,
        avgScrollDepth: row.scrollCount === 0 ? null : row.scrollSum / row.scrollCount,
      });
    }
    out.sort((a, b) => b.views - a.views || compareKeys(a.path, b.path));
    return out.slice(0, limitOf(q));
  };

  // Every session-level report selects the live sessions: day in range, landing page matching, bots as asked.
  const live = liveSessionsOf(data);
  const liveIn = (q: ReportQuery): LiveSessionTruth[] =>
    live.filter((s) => inRange(s.day, q) && pathOk(s.landingPath, q) && (q.includeBots || !s.isBot));

  const sessions = (q: ReportQuery): SessionsReport => {
    const list = liveIn(q);
    let authenticated = 0;
    let pageViews = 0;
    let bounces = 0;
    let duration = 0;
    for (const s of list) {
      if (s.authenticated) authenticated += 1;
      pageViews += s.pageViews;
      if (s.pageViews === 1) bounces += 1;
      duration += s.durationMs;
    }
    const n = list.length;
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
  };

  const conversions = (q: ReportQuery): ConversionsReport => {
    const list = data.conversions
      .filter(
        (c) =>
          inRange(c.day, q) &&
          (q.path === undefined ||
            (c.firstTouch !== null && pathMatchesPattern(q.path, c.firstTouch.landingPath))),
      )
      .sort((a, b) => a.at - b.at || compareKeys(a.id, b.id));
    const converted = new Set<string>();
    const byLanding = new Map<string, number>();
    const byReferrer = new Map<string | null, number>();
    for (const c of list) {
      for (const id of c.sessionIds) converted.add(id);
      if (c.firstTouch !== null) bump(byLanding, c.firstTouch.landingPath);
      bump(byReferrer, c.firstTouch?.referrerHost ?? null);
    }
    // Sessions that could convert: no user id on the summary nor on any stored view, or named by a conversion.
    let visitorSessions = 0;
    for (const s of liveIn(q)) {
      if (!s.authenticated || convertedSessionIds.has(s.id)) visitorSessions += 1;
    }
    return {
      signups: list.length,
      visitorSessions,
      convertedSessions: converted.size,
      conversionRate: visitorSessions === 0 ? null : converted.size / visitorSessions,
      conversions: list.slice(0, limitOf(q)),
      byLandingPage: countDesc(byLanding)
        .slice(0, limitOf(q))
        .map((r) => ({ path: r.key, conversions: r.count })),
      byReferrer: countDesc(byReferrer)
        .slice(0, limitOf(q))
        .map((r) => ({ referrerHost: r.key, conversions: r.count })),
    };
  };

  const funnel = (q: ReportQuery, steps: string[]): FunnelStepRow[] => {
    const reached = steps.map(() => 0);
    for (const s of liveIn(q)) {
      let next = 0;
      for (const view of viewsBySession.get(s.id) ?? []) {
        if (next < steps.length && pathMatchesPattern(steps[next] as string, view.path)) next += 1;
      }
      for (let k = 0; k < next; k++) reached[k] = (reached[k] as number) + 1;
    }
    return steps.map((step, k) => ({ step, sessions: reached[k] as number }));
  };

  const journeys = (q: ReportQuery & { maxSteps?: number }): JourneyRow[] => {
    const maxSteps = q.maxSteps ?? 5;
    const groups = new Map<string, JourneyRow>();
    for (const s of liveIn(q)) {
      const views = viewsBySession.get(s.id) ?? [];
      // A session none of whose page views is stored has no journey.
      if (views.length === 0) continue;
      const steps: string[] = [];
      for (const view of views) {
        if (steps[steps.length - 1] !== view.path) steps.push(view.path);
      }
      const kept = steps.slice(0, maxSteps);
      if (convertedSessionIds.has(s.id)) kept.push('(signup)');
      const key = JSON.stringify(kept);
      const row = groups.get(key) ?? { steps: kept, sessions: 0 };
      row.sessions += 1;
      groups.set(key, row);
    }
    return [...groups.values()]
      .sort((a, b) => b.sessions - a.sessions || compareKeyLists(a.steps, b.steps))
      .slice(0, limitOf(q));
  };

  const referrers = (q: ReportQuery): ReferrerRow[] => {
    const counts = new Map<string | null, number>();
    for (const s of liveIn(q)) bump(counts, s.referrerHost);
    return countDesc(counts)
      .slice(0, limitOf(q))
      .map((r) => ({ referrerHost: r.key, sessions: r.count }));
  };

  const campaigns = (q: ReportQuery): CampaignRow[] => {
    const groups = new Map<string, CampaignRow>();
    for (const s of liveIn(q)) {
      if (s.utmSource === null && s.utmMedium === null && s.utmCampaign === null) continue;
      const key = JSON.stringify([s.utmSource, s.utmMedium, s.utmCampaign]);
      const row = groups.get(key) ?? {
        utmSource: s.utmSource,
        utmMedium: s.utmMedium,
        utmCampaign: s.utmCampaign,
        sessions: 0,
      };
      row.sessions += 1;
      groups.set(key, row);
    }
    return [...groups.values()]
      .sort(
        (a, b) =>
          b.sessions - a.sessions ||
          compareKeys(a.utmSource, b.utmSource) ||
          compareKeys(a.utmMedium, b.utmMedium) ||
          compareKeys(a.utmCampaign, b.utmCampaign),
      )
      .slice(0, limitOf(q));
  };

  const devices = (q: ReportQuery): DevicesReport => {
    const device = new Map<DeviceType, number>();
    const browser = new Map<string | null, number>();
    const os = new Map<string | null, number>();
    for (const s of liveIn(q)) {
      bump(device, s.device);
      bump(browser, s.browser);
      bump(os, s.os);
    }
    const limit = limitOf(q);
    return {
      devices: countDesc(device)
        .slice(0, limit)
        .map((r) => ({ device: r.key, sessions: r.count })),
      browsers: countDesc(browser)
        .slice(0, limit)
        .map((r) => ({ browser: r.key, sessions: r.count })),
      os: countDesc(os)
        .slice(0, limit)
        .map((r) => ({ os: r.key, sessions: r.count })),
    };
  };

  const bots = (q: ReportQuery): BotsReport => {
    let views = 0;
    const byPath = new Map<string, number>();
    for (const view of data.views) {
      if (!view.isBot || !inRange(view.day, q) || !pathOk(view.path, q)) continue;
      views += 1;
      bump(byPath, view.path);
    }
    let sessionCount = 0;
    for (const s of live) {
      if (s.isBot && inRange(s.day, q) && pathOk(s.landingPath, q)) sessionCount += 1;
    }
    return {
      views,
      sessions: sessionCount,
      topPaths: countDesc(byPath)
        .slice(0, limitOf(q))
        .map((r) => ({ path: r.key, views: r.count })),
    };
  };

  const aggregates = (q: ReportQuery): DailyAggregate[] => {
    const rows = new Map<string, DailyAggregate>();
    const visitors = new Set<string>();
    const row = (day: string, path: string): DailyAggregate => {
      const key = `${day}\u0000${path}`;
      let r = rows.get(key);
      if (!r) {
        r = {
          day,
          path,
          views: 0,
          authenticatedViews: 0,
          anonymousViews: 0,
          uniqueVisitors: 0,
          timeOnPageSumMs: 0,
          timeOnPageCount: 0,
          scrollDepthSum: 0,
          scrollDepthCount: 0,
          interactions: 0,
          mobileViews: 0,
          desktopViews: 0,
          tabletViews: 0,
          botViews: 0,
          botAuthenticatedViews: 0,
        };
        rows.set(key, r);
      }
      return r;
    };
    for (const view of data.views) {
      if (!inRange(view.day, q) || !pathOk(view.path, q)) continue;
      const r = row(view.day, view.path);
      if (view.isBot) {
        r.botViews += 1;
        if (view.authenticated) r.botAuthenticatedViews += 1;
        continue;
      }
      r.views += 1;
      if (view.authenticated) r.authenticatedViews += 1;
      else r.anonymousViews += 1;
      if (view.device === 'mobile') r.mobileViews += 1;
      else if (view.device === 'tablet') r.tabletViews += 1;
      else r.desktopViews += 1;
      if (view.visitorKey !== null) {
        const key = `${view.day}\u0000${view.path}\u0000${view.visitorKey}`;
        if (!visitors.has(key)) {
          visitors.add(key);
          r.uniqueVisitors += 1;
        }
      }
    }
    for (const metric of data.metrics) {
      if (metric.isBot || !inRange(metric.day, q) || !pathOk(metric.path, q)) continue;
      const r = row(metric.day, metric.path);
      if (metric.metric === 'time_on_page') {
        r.timeOnPageSumMs += metric.value;
        r.timeOnPageCount += 1;
      } else if (metric.metric === 'scroll_depth') {
        r.scrollDepthSum += metric.value;
        r.scrollDepthCount += 1;
      } else {
        r.interactions += metric.value;
      }
    }
    return [...rows.values()]
      .sort((a, b) => compareKeys(a.day, b.day) || compareKeys(a.path, b.path))
      .slice(0, limitOf(q));
  };

  // overview, entryPages, exitPages, countries: plain loops over the views and the live sessions.
  const overview = (q: ReportQuery): OverviewReport => {
    const allDays = new Set<string>();
    const viewsOn = new Map<string, PageView[]>();
    for (const view of data.views) {
      if (!inRange(view.day, q) || !pathOk(view.path, q)) continue;
      allDays.add(view.day);
      const list = viewsOn.get(view.day) ?? [];
      list.push(view);
      viewsOn.set(view.day, list);
    }
    const sessionsOn = new Map<string, LiveSessionTruth[]>();
    for (const s of liveIn(q)) {
      allDays.add(s.day);
      const list = sessionsOn.get(s.day) ?? [];
      list.push(s);
      sessionsOn.set(s.day, list);
    }
    const figures = (views: PageView[], list: LiveSessionTruth[]): OverviewFigures & { duration: number } => {
      const counted = views.filter((v) => q.includeBots || !v.isBot);
      const keys = new Set(counted.filter((v) => v.visitorKey !== null).map((v) => v.visitorKey));
      const duration = list.reduce((sum, s) => sum + s.durationMs, 0);
      const bounces = list.filter((s) => s.pageViews === 1).length;
      const authenticatedSessions = list.filter((s) => s.authenticated).length;
      return {
        uniqueVisitors: keys.size,
        pageViews: counted.length,
        authenticatedViews: counted.filter((v) => v.authenticated).length,
        anonymousViews: counted.filter((v) => !v.authenticated).length,
        botViews: views.filter((v) => v.isBot).length,
        sessions: list.length,
        authenticatedSessions,
        anonymousSessions: list.length - authenticatedSessions,
        bounces,
        bounceRate: list.length === 0 ? null : bounces / list.length,
        avgDurationMs: list.length === 0 ? null : duration / list.length,
        duration,
      };
    };
    const days = [...allDays].sort().map((day) => {
      const { duration: _, ...f } = figures(viewsOn.get(day) ?? [], sessionsOn.get(day) ?? []);
      return { day, ...f };
    });
    // Unique visitors of a range: the sum of the days' (keys do not link across days).
    const all = figures([...viewsOn.values()].flat(), [...sessionsOn.values()].flat());
    const { duration: _, ...total } = all;
    total.uniqueVisitors = days.reduce((sum, d) => sum + d.uniqueVisitors, 0);
    return { days, total };
  };

  const bySessions = <R extends { key: string | null; sessions: number }>(rows: R[]): R[] =>
    rows.sort((a, b) => b.sessions - a.sessions || compareKeys(a.key, b.key));

  const entryPages = (q: ReportQuery): EntryPageRow[] => {
    const rows = new Map<string, { key: string; sessions: number; bounces: number }>();
    for (const s of liveIn(q)) {
      const row = rows.get(s.landingPath) ?? { key: s.landingPath, sessions: 0, bounces: 0 };
      row.sessions += 1;
      if (s.pageViews === 1) row.bounces += 1;
      rows.set(s.landingPath, row);
    }
    return bySessions([...rows.values()])
      .slice(0, limitOf(q))
      .map((r) => ({ path: r.key, sessions: r.sessions, bounces: r.bounces }));
  };

  const exitPages = (q: ReportQuery): ExitPageRow[] => {
    const rows = new Map<string, { key: string; sessions: number }>();
    for (const s of liveIn(q)) {
      const row = rows.get(s.exitPath) ?? { key: s.exitPath, sessions: 0 };
      row.sessions += 1;
      rows.set(s.exitPath, row);
    }
    return bySessions([...rows.values()])
      .slice(0, limitOf(q))
      .map((r) => ({ path: r.key, sessions: r.sessions }));
  };

  const countries = (q: ReportQuery): CountryRow[] => {
    const rows = new Map<string | null, { key: string | null; sessions: number; views: number }>();
    for (const s of liveIn(q)) {
      const row = rows.get(s.country) ?? { key: s.country, sessions: 0, views: 0 };
      row.sessions += 1;
      row.views += s.pageViews;
      rows.set(s.country, row);
    }
    return bySessions([...rows.values()])
      .slice(0, limitOf(q))
      .map((r) => ({ country: r.key, sessions: r.sessions, views: r.views }));
  };

  return {
    data,
    topPages,
    sessions,
    conversions,
    funnel,
    journeys,
    referrers,
    campaigns,
    devices,
    bots,
    aggregates,
    overview,
    entryPages,
    exitPages,
    countries,
    reports: (q, extras = {}) => ({
      topPages: topPages(q),
      sessions: sessions(q),
      conversions: conversions(conversionQuery(q)),
      funnel: funnel(q, extras.funnelSteps ?? DEFAULT_FUNNEL),
      journeys: journeys({ ...q, maxSteps: extras.maxSteps ?? 5 }),
      referrers: referrers(q),
      campaigns: campaigns(q),
      devices: devices(q),
      bots: bots(q),
      aggregates: aggregates(q),
    }),
  };
}

/** The query the conversions report gets in a report set: days and limit only (no path, no bots). */
export function conversionQuery(q: ReportQuery): ReportQuery {
  return q.limit === undefined ? { from: q.from, to: q.to } : { from: q.from, to: q.to, limit: q.limit };
}
