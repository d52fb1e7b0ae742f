import type {
  BotsReport,
  CampaignRow,
  ConversionsReport,
  CountryRow,
  Day,
  DevicesReport,
  EntryPageRow,
  ExitPageRow,
  FunnelStepRow,
  JourneyRow,
  OverviewFigures,
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
  | 'overview'
  | 'entryPages'
  | 'exitPages'
  | 'countries'
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

/**
 * The overview figures of the range: the `total` of the store's `overview(q)`. Its `uniqueVisitors` is the sum
 * of each day's site-wide unique visitors: exact for one day, but a person who comes back on another day counts
 * again, since visitor keys cannot be linked across days (by design).
 */
export type Overview = OverviewFigures;

/** One day of the chart, from the day's row of `overview(q)` (zeros for a day with no row). */
export interface DayPoint {
  day: Day;
  views: number;
  authenticatedViews: number;
  anonymousViews: number;
  /** Site-wide unique visitors that day (`overview.days[].uniqueVisitors`). */
  visitors: number;
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
  entryPages: EntryPageRow[];
  exitPages: ExitPageRow[];
  countries: CountryRow[];
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

/** Ask every report at once (they are independent), then lay the overview's days out on the range. */
export async function loadSummary(input: SummaryInput): Promise<DashboardSummary> {
  const { reports, range, limit } = input;
  const q = { from: range.from, to: range.to };
  const table = { ...q, limit };
  const [
    overview,
    sessions,
    topPages,
    entryPages,
    exitPages,
    countries,
    referrers,
    campaigns,
    devices,
    conversions,
    funnelRows,
    journeys,
    bots,
    realtime,
  ] = await Promise.all([
    reports.overview(q),
    reports.sessions(q),
    reports.topPages(table),
    reports.entryPages(table),
    reports.exitPages(table),
    reports.countries(table),
    reports.referrers(table),
    reports.campaigns(table),
    reports.devices(table),
    reports.conversions(table),
    input.funnel.steps.length > 0 ? reports.funnel(q, input.funnel.steps) : Promise.resolve([]),
    reports.journeys({ ...table, maxSteps: input.journeySteps }),
    reports.bots(table),
    input.realtime === null ? Promise.resolve(null) : loadRealtime(input.realtime, input.onRealtimeError),
  ]);

  // `overview` leaves out days with no traffic; the chart shows every day of the range, empty ones as zeros.
  const byDay = new Map(overview.days.map((d) => [d.day, d]));
  const series = daysOf(range).map((day): DayPoint => {
    const d = byDay.get(day);
    return {
      day,
      views: d?.pageViews ?? 0,
      authenticatedViews: d?.authenticatedViews ?? 0,
      anonymousViews: d?.anonymousViews ?? 0,
      visitors: d?.uniqueVisitors ?? 0,
    };
  });

  return {
    range,
    overview: overview.total,
    series,
    sessions,
    topPages,
    entryPages,
    exitPages,
    countries,
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

/** The real-time panel alone (`GET {basePath}/api/realtime`): never rejects, a failure is in `error`. */
export async function loadRealtime(
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
