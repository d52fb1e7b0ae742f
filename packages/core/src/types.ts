/** Milliseconds since the Unix epoch. Every time in anon is one of these; days are `YYYY-MM-DD` strings. */
export type Millis = number;

/** A calendar day, `YYYY-MM-DD`, in the tracker's configured time zone (UTC by default). */
export type Day = string;

/** A header bag as Node gives it (lower-cased names) or a Fetch `Headers`-like object. */
export type HeaderSource =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null | undefined };

/**
 * What a framework binding knows about one request once its response is done. Bindings only fill this in;
 * every decision (does it count, what path, which visitor) is core's.
 */
export interface RequestInfo {
  /** HTTP method, any case. */
  method: string;
  /** Path and query as received (`/posts/42?utm_source=x`); an absolute URL is accepted too. */
  url: string;
  headers: HeaderSource;
  /** Client IP as the framework resolved it under its own trust-proxy setting. */
  ip?: string | null;
  /** Response status code. */
  status: number;
  /** Matched route pattern (`/posts/:id`), preferred over the raw path as the aggregation key. */
  route?: string | null;
  /** The authenticated user's id, if any. */
  userId?: string | null;
  /** A real-time scope the app names (e.g. `community:montreal`). */
  scope?: string | null;
  /** A page type the app names (`post`, `profile`, …). */
  pageType?: string | null;
  /** A view id allocated at request start (so a page can embed it for the beacon). */
  viewId?: string | null;
}

export type DeviceType = 'mobile' | 'tablet' | 'desktop';

export type BotReason = 'user-agent' | 'empty-user-agent' | 'headless' | 'rate';

export interface BotVerdict {
  isBot: boolean;
  reasons: BotReason[];
}

/** Traffic source fields, flattened so every store maps them 1:1 to columns. */
export interface SourceFields {
  /** Referrer URL (origin + path, no query), or null when direct or same-site. */
  referrer: string | null;
  /** Referrer host, lower-cased (`news.ycombinator.com`), or null. */
  referrerHost: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
}

export interface DeviceFields {
  device: DeviceType;
  browser: string | null;
  os: string | null;
  country: string | null;
  city: string | null;
}

/** One stored page view. Its id is a UUIDv7; a replayed write of the same id changes nothing. */
export interface PageView extends SourceFields, DeviceFields {
  id: string;
  /** Null for aggregate-only views (DNT / Sec-GPC): no session, no visitor. */
  sessionId: string | null;
  visitorKey: string | null;
  userId: string | null;
  authenticated: boolean;
  at: Millis;
  day: Day;
  /** Aggregation key: the route pattern when known, else the normalized path. At most 500 characters. */
  path: string;
  /** Normalized path with allowlisted query. At most 500 characters. */
  url: string;
  pageType: string | null;
  scope: string | null;
  /** Stored IP after the configured IP mode; null by default (`drop`). */
  ip: string | null;
  isBot: boolean;
  botReasons: BotReason[];
  /** 1-based position in its session; 0 for aggregate-only views. */
  seq: number;
}

/** Engagement measured after a view was written: keyed by (viewId, metric), first write wins. */
export type MetricName = 'time_on_page' | 'scroll_depth' | 'interactions';

export interface PageMetric {
  viewId: string;
  metric: MetricName;
  /** Milliseconds for time on page, percent 0–100 for scroll depth, a count for interactions. */
  value: number;
  sessionId: string | null;
  /** The view's day, time and path, so the metric aggregates without the view row. */
  day: Day;
  at: Millis;
  path: string;
  isBot: boolean;
}

/** Live session state in the hot store. Every field is a scalar so adapters can keep it as a hash. */
export interface HotSession extends SourceFields, DeviceFields {
  id: string;
  visitorKey: string;
  userId: string | null;
  startedAt: Millis;
  /** Day of the first view: the session's day in reports. */
  startDay: Day;
  lastSeenAt: Millis;
  pageViews: number;
  landingPath: string;
  exitPath: string;
  lastViewId: string;
  lastViewDay: Day;
  lastViewIsBot: boolean;
  /** Engaged time the beacon reported for the last view, if any. */
  lastEngagedMs: number | null;
  isBot: boolean;
}

/** A stored session summary. Merged monotonically, so repeated or out-of-order writes converge. */
export interface Session extends SourceFields, DeviceFields {
  id: string;
  visitorKey: string;
  userId: string | null;
  startedAt: Millis;
  /** Day of the first view: the session's day in reports. */
  day: Day;
  lastSeenAt: Millis;
  /** Set on finalization: the last page view's time. */
  endedAt: Millis | null;
  durationMs: number;
  pageViews: number;
  landingPath: string;
  exitPath: string;
  isBot: boolean;
  convertedUserId: string | null;
  convertedAt: Millis | null;
}

export interface Touch extends SourceFields {
  sessionId: string;
  landingPath: string;
  startedAt: Millis;
}

/** An anonymous visitor who signed up, with what brought them. One per user (id `signup:<userId>`). */
export interface Conversion {
  id: string;
  userId: string;
  kind: 'signup';
  at: Millis;
  day: Day;
  sessionIds: string[];
  firstTouch: Touch | null;
  lastTouch: Touch | null;
  pagesBefore: number;
  msBefore: number | null;
}

/** Daily per-path aggregate; sums and counts so averages compose across days. */
export interface DailyAggregate {
  day: Day;
  path: string;
  views: number;
  authenticatedViews: number;
  anonymousViews: number;
  uniqueVisitors: number;
  timeOnPageSumMs: number;
  timeOnPageCount: number;
  scrollDepthSum: number;
  scrollDepthCount: number;
  interactions: number;
  mobileViews: number;
  desktopViews: number;
  tabletViews: number;
  botViews: number;
  /** Of `botViews`, those carrying `authenticated`, so a report counting bot views splits them by login. */
  botAuthenticatedViews: number;
}

/** What an app reports when a visitor signs up or logs in. */
export type IdentifyKind = 'signup' | 'login';

export interface IdentifyRequest {
  userId: string;
  kind: IdentifyKind;
  at: Millis;
  day: Day;
  /** The visitor's keys under the current and (if still live) previous salt. */
  visitorKeys: string[];
  /** Sessions started at or after this time are linked (at − conversion window). */
  since: Millis;
  /** The live session at identify time, if any (exact page count even between persists). */
  live: Session | null;
}

/**
 * A session that became a bot session after some of its page views were counted as human (the rate check
 * flagged it): every page view and metric of it, stored or still to come, is a bot's (docs/semantics.md,
 * "Bot sessions"). One per session, event id `<sessionId>:bot`.
 */
export interface BotSession {
  sessionId: string;
  /** Day and time of the page view that flagged the session. */
  day: Day;
  at: Millis;
}

/** Events the engine emits; the queue carries them and the store writes them. */
export type AnonEvent =
  | { type: 'pageview'; id: string; view: PageView }
  | { type: 'metric'; id: string; metric: PageMetric }
  | { type: 'session'; id: string; session: Session }
  | { type: 'botsession'; id: string; botSession: BotSession }
  | { type: 'identify'; id: string; identify: IdentifyRequest }
  | { type: 'conversion'; id: string; conversion: Conversion };

export interface EventBatch {
  id: string;
  events: AnonEvent[];
}

// ---------------------------------------------------------------- reports

/** Days are inclusive. Bots are excluded unless `includeBots`. */
export interface ReportQuery {
  from: Day;
  to: Day;
  /** Exact path, or a pattern with `*` wildcards (`/posts/*`). */
  path?: string;
  includeBots?: boolean;
  limit?: number;
}

export interface TopPageRow {
  path: string;
  views: number;
  /** Sum of daily unique visitors: visitor keys are not linkable across days, by design. */
  uniqueVisitors: number;
  authenticatedViews: number;
  anonymousViews: number;
  avgTimeOnPageMs: number | null;
  avgScrollDepth: number | null;
}

export interface SessionsReport {
  sessions: number;
  authenticatedSessions: number;
  anonymousSessions: number;
  pageViews: number;
  bounces: number;
  /** Null when there are no sessions. */
  avgDurationMs: number | null;
  pagesPerSession: number | null;
  bounceRate: number | null;
}

export interface ConversionsReport {
  signups: number;
  /** Sessions that began anonymous: no user id, or a user id obtained by converting. */
  visitorSessions: number;
  convertedSessions: number;
  /** convertedSessions / visitorSessions, null when there are none. */
  conversionRate: number | null;
  conversions: Conversion[];
  byLandingPage: { path: string; conversions: number }[];
  byReferrer: { referrerHost: string | null; conversions: number }[];
}

export interface FunnelStepRow {
  step: string;
  sessions: number;
}

export interface JourneyRow {
  /** Landing page first, consecutive repeats collapsed, `(signup)` last when the session converted. */
  steps: string[];
  sessions: number;
}

export interface ReferrerRow {
  referrerHost: string | null;
  sessions: number;
}

export interface CampaignRow {
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  sessions: number;
}

export interface DevicesReport {
  devices: { device: DeviceType; sessions: number }[];
  browsers: { browser: string | null; sessions: number }[];
  os: { os: string | null; sessions: number }[];
}

export interface BotsReport {
  views: number;
  sessions: number;
  topPaths: { path: string; views: number }[];
}

export interface PurgeResult {
  sessions: number;
  pageViews: number;
  metrics: number;
}

/**
 * Visitors active in the real-time window: `total` distinct visitors, of whom `authenticated` had a view with
 * a user id in the window and `anonymous` did not (`total = authenticated + anonymous`).
 */
export interface ActiveVisitors {
  total: number;
  authenticated: number;
  anonymous: number;
}

/** What `purge` is told to remove (see `StoreWriter.purge`). */
export interface PurgeOptions {
  /** Count what would go and change nothing. */
  dryRun?: boolean;
  /**
   * Also remove authenticated sessions (a user id or a converted user id, but named by no conversion) started
   * before this time, with their page views and metrics. Absent: authenticated data is kept.
   */
  authenticatedBefore?: Millis;
}

/**
 * The session-level figures of purged sessions, grouped: what `purge` keeps when it removes sessions, so the
 * session-level reports of a purged day read the same as before (docs/semantics.md, "Rollups"). One row per
 * distinct combination of the key fields; no visitor key, user id, session id or time of day.
 */
export interface SessionRollup {
  /** The session's day (the live session's `day`). */
  day: Day;
  landingPath: string;
  exitPath: string;
  isBot: boolean;
  authenticated: boolean;
  /** Counted in `conversions().visitorSessions`: no user id, or a user id that has a conversion. */
  visitor: boolean;
  referrerHost: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  device: DeviceType;
  browser: string | null;
  os: string | null;
  country: string | null;
  /** Sums over the grouped sessions. */
  sessions: number;
  pageViews: number;
  /** Sessions with exactly one page view. */
  bounces: number;
  durationMs: number;
}

/**
 * Distinct visitors of purged page views that no remaining page view of the same day (and path) has: what
 * `purge` keeps so `overview().uniqueVisitors` of a purged day reads the same as before. `path` null is the
 * whole site; a path row serves a report filtered on exactly that path.
 */
export interface VisitorRollup {
  day: Day;
  path: string | null;
  /** Counting non-bot views only. */
  visitors: number;
  /** Counting every view, bots included. */
  visitorsWithBots: number;
}

/**
 * The figures of one day (or of a whole range) in `overview`. Sessions are counted on their day (their first
 * view's), as in `sessions`; page views and visitors on the view's day.
 */
export interface OverviewFigures {
  /**
   * Distinct visitor keys with a counted page view. Exact for one day; for a range, the sum of the days, since
   * visitor keys are not linkable across days (the salt rotates daily), by design.
   */
  uniqueVisitors: number;
  /** Counted page views (bot views too with `includeBots`) = `authenticatedViews + anonymousViews`. */
  pageViews: number;
  authenticatedViews: number;
  anonymousViews: number;
  /** Bot page views, counted apart whatever `includeBots` says. */
  botViews: number;
  sessions: number;
  authenticatedSessions: number;
  anonymousSessions: number;
  bounces: number;
  /** `bounces / sessions`, null without sessions. */
  bounceRate: number | null;
  /** Mean of `last − first view` over the sessions, null without sessions. */
  avgDurationMs: number | null;
}

/** `overview`: one row per day that has a page view or a session, ascending, and the range's total. */
export interface OverviewReport {
  days: (OverviewFigures & { day: Day })[];
  total: OverviewFigures;
}

/** `entryPages`: sessions by landing page. */
export interface EntryPageRow {
  path: string;
  sessions: number;
  /** Of those sessions, the ones with one page view. */
  bounces: number;
}

/** `exitPages`: sessions by the path of their last page view. */
export interface ExitPageRow {
  path: string;
  sessions: number;
}

/** `countries`: sessions by country (null: unknown or no geo resolver), with their page views. */
export interface CountryRow {
  country: string | null;
  sessions: number;
  /** Page views of those sessions. */
  views: number;
}
