import type {
  BotsReport,
  CampaignRow,
  ConversionsReport,
  Day,
  DevicesReport,
  FunnelStepRow,
  JourneyRow,
  ReferrerRow,
  SessionsReport,
  Store,
  TopPageRow,
} from '@anon/core';
import { type DateRange, daysOf } from './date-range.js';

/** The report methods the dashboard reads, and nothing else: any store (a custom one too) provides them. */
export type DashboardReports = Pick<
  Store,
  | 'topPages'
  | 'sessions'
  | 'conversions'
  | 'funnel'
  | 'journeys'
  | 'referrers'
  | 'campaigns'
  | 'devices'
  | 'bots'
  | 'aggregates'
>;

/**
 * Active visitors as a hot store reports them: a total today; a split by authentication once the port
 * returns one (the dashboard shows it as soon as a result carries these fields).
 */
export type ActiveVisitors = number | { total: number; authenticated: number; anonymous: number };

/** Where the real-time panel reads from: a `Tracker` (its `activeVisitors(scope?)`), seen structurally. */
export interface RealtimeSource {
  activeVisitors(scope?: string): Promise<ActiveVisitors>;
}

/** Page view totals over the range, from the daily aggregates (bots excluded). */
export interface Overview {
  pageViews: number;
  authenticatedViews: number;
  anonymousViews: number;
  /**
   * Daily unique visitors of each page, summed over pages and days. A visitor who reads two pages counts
   * twice, and visitor keys are not linkable across days by design: this is "unique visitors per page", not
   * a count of people.
   */
  pageVisitors: number;
  /** Null when no time on page was measured. */
  avgTimeOnPageMs: number | null;
  avgScrollDepth: number | null;
}

/** One day of the chart. */
export interface DayPoint {
  day: Day;
  views: number;
  authenticatedViews: number;
  anonymousViews: number;
  /** Unique visitors per page that day, summed over pages (see `Overview.pageVisitors`). */
  pageVisitors: number;
}

/** A funnel over the steps the request named (`?steps=/,/pricing,/signup`). */
export interface FunnelPanel {
  steps: string[];
  rows: FunnelStepRow[];
  /** Why the requested steps were not used, if they were not. */
  error: string | null;
}

/** The real-time panel: overall and per configured scope. */
export interface RealtimePanel {
  windowMinutes: number;
  /** Null when the source failed (see `error`): the rest of the page is still shown. */
  total: number | null;
  /** Null until the hot store reports the split. */
  authenticated: number | null;
  anonymous: number | null;
  scopes: { scope: string; total: number; authenticated: number | null; anonymous: number | null }[];
  /** The error code when the real-time source failed, else null. */
  error: string | null;
}

/** Every number the dashboard shows; `/api/summary` returns exactly this. */
export interface DashboardSummary {
  range: DateRange;
  overview: Overview;
  series: DayPoint[];
  sessions: SessionsReport;
  topPages: TopPageRow[];
  referrers: ReferrerRow[];
  campaigns: CampaignRow[];
  devices: DevicesReport;
  conversions: ConversionsReport;
  funnel: FunnelPanel;
  journeys: JourneyRow[];
  bots: BotsReport;
  /** Null when the dashboard was given no tracker or hot store. */
  realtime: RealtimePanel | null;
}

/** What `loadSummary` needs: the reports, the range and the panel settings the handler resolved. */
export interface SummaryInput {
  reports: DashboardReports;
  range: DateRange;
  /** Rows per table. */
  limit: number;
  funnel: { steps: string[]; error: string | null };
  journeySteps: number;
  realtime: { source: RealtimeSource; windowMs: number; scopes: string[] } | null;
  /** Told when the real-time source fails; that failure leaves the other panels alone. */
  onRealtimeError(error: unknown): string;
}

/** Ask every report at once (they are independent), then derive the overview and the daily series. */
export async function loadSummary(input: SummaryInput): Promise<DashboardSummary> {
  const { reports, range, limit } = input;
  const q = { from: range.from, to: range.to };
  const table = { ...q, limit };
  const [
    aggregates,
    sessions,
    topPages,
    referrers,
    campaigns,
    devices,
    conversions,
    funnelRows,
    journeys,
    bots,
    realtime,
  ] = await Promise.all([
    reports.aggregates(q),
    reports.sessions(q),
    reports.topPages(table),
    reports.referrers(table),
    reports.campaigns(table),
    reports.devices(table),
    reports.conversions(table),
    input.funnel.steps.length > 0 ? reports.funnel(q, input.funnel.steps) : Promise.resolve([]),
    reports.journeys({ ...table, maxSteps: input.journeySteps }),
    reports.bots(table),
    input.realtime === null ? Promise.resolve(null) : loadRealtime(input.realtime, input.onRealtimeError),
  ]);

  const byDay = new Map<Day, DayPoint>();
  for (const day of daysOf(range)) {
    byDay.set(day, { day, views: 0, authenticatedViews: 0, anonymousViews: 0, pageVisitors: 0 });
  }
  const overview: Overview = {
    pageViews: 0,
    authenticatedViews: 0,
    anonymousViews: 0,
    pageVisitors: 0,
    avgTimeOnPageMs: null,
    avgScrollDepth: null,
  };
  let timeSum = 0;
  let timeCount = 0;
  let scrollSum = 0;
  let scrollCount = 0;
  for (const row of aggregates) {
    overview.pageViews += row.views;
    overview.authenticatedViews += row.authenticatedViews;
    overview.anonymousViews += row.anonymousViews;
    overview.pageVisitors += row.uniqueVisitors;
    timeSum += row.timeOnPageSumMs;
    timeCount += row.timeOnPageCount;
    scrollSum += row.scrollDepthSum;
    scrollCount += row.scrollDepthCount;
    const point = byDay.get(row.day);
    // A store answering outside the range would be a bug of its own; the chart keeps to the range asked.
    if (point === undefined) continue;
    point.views += row.views;
    point.authenticatedViews += row.authenticatedViews;
    point.anonymousViews += row.anonymousViews;
    point.pageVisitors += row.uniqueVisitors;
  }
  if (timeCount > 0) overview.avgTimeOnPageMs = timeSum / timeCount;
  if (scrollCount > 0) overview.avgScrollDepth = scrollSum / scrollCount;

  return {
    range,
    overview,
    series: [...byDay.values()],
    sessions,
    topPages,
    referrers,
    campaigns,
    devices,
    conversions,
    funnel: { steps: input.funnel.steps, rows: funnelRows, error: input.funnel.error },
    journeys,
    bots,
    realtime,
  };
}

function split(value: ActiveVisitors): {
  total: number;
  authenticated: number | null;
  anonymous: number | null;
} {
  if (typeof value === 'number') return { total: value, authenticated: null, anonymous: null };
  return { total: value.total, authenticated: value.authenticated, anonymous: value.anonymous };
}

async function loadRealtime(
  input: NonNullable<SummaryInput['realtime']>,
  onError: (error: unknown) => string,
): Promise<RealtimePanel> {
  const windowMinutes = Math.round(input.windowMs / 60_000);
  try {
    const [overall, ...scoped] = await Promise.all([
      input.source.activeVisitors(),
      ...input.scopes.map((scope) => input.source.activeVisitors(scope)),
    ]);
    return {
      windowMinutes,
      ...split(overall as ActiveVisitors),
      scopes: input.scopes.map((scope, i) => ({ scope, ...split(scoped[i] as ActiveVisitors) })),
      error: null,
    };
  } catch (error) {
    return {
      windowMinutes,
      total: null,
      authenticated: null,
      anonymous: null,
      scopes: [],
      error: onError(error),
    };
  }
}
