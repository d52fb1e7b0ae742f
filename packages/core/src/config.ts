import type { SessionRules } from './ports.js';

export type IpMode = 'drop' | 'truncate' | 'full';

/** How a request that sent DNT: 1 or Sec-GPC: 1 is counted. */
export type DoNotTrackMode = 'aggregate' | 'ignore-signal' | 'skip';

/** Every option of the tracker, with its default. */
export interface TrackerConfig extends SessionRules {
  /** Site name mixed into the visitor key, so two sites on one store never share visitors. @default 'default' */
  site: string;
  /** Query keys kept besides `utm_*` and `ref` (secret-looking keys are dropped whatever this says). @default [] */
  queryAllowlist: string[];
  /** Paths never tracked: exact strings or prefixes ending in `*`. @default ['/_anon/*', '/favicon.ico', '/robots.txt'] */
  excludePaths: string[];
  /** Methods that count as navigations. @default ['GET', 'HEAD'] */
  methods: string[];
  /** Raw IP handling: never stored (`drop`), /24 and /48 (`truncate`) or as is (`full`). @default 'drop' */
  ipMode: IpMode;
  /** DNT / Sec-GPC: aggregates only (no session, no visitor key), not at all, or as if absent. @default 'aggregate' */
  doNotTrack: DoNotTrackMode;
  /** Linked anonymous sessions look back this far from a signup. @default 86_400_000 (24 h) */
  conversionWindowMs: number;
  /** Entries of the user-agent parse cache. @default 5_000 */
  uaCacheSize: number;
  /** IANA time zone that days are counted in. @default 'UTC' */
  timeZone: string;
  /**
   * Anonymous sessions and their page views are purged after this many days (their session-level figures
   * stay, as rollups). The worker purges once a day, or `anon purge` does when `retention` is false. @default 90
   */
  retentionDays: number;
  /**
   * Authenticated sessions (a user id) and their page views are purged after this many days too, an integer
   * ≥ 1; null keeps them. Sessions a conversion names are always kept. @default null
   */
  authenticatedRetentionDays: number | null;
  /**
   * The worker purges past `retentionDays` (and `authenticatedRetentionDays`) once a day, one instance per
   * day across every worker on the store (`claimDailyJob`). False leaves purging to `anon purge`. @default true
   */
  retention: boolean;
  /**
   * The app's route patterns (`/posts/:id`, `/docs/*`): an SPA navigation's path is counted under the first
   * pattern it matches, as a server-rendered page is under the route its framework reports. @default []
   */
  routes: string[];
  /**
   * Distinct paths this instance counts per day; past it, a path not yet seen that day is counted as
   * `(other)`, so random URLs cannot grow the aggregates without bound. Route patterns a binding reports are
   * always kept; bot views may fill half of the budget at most. @default 1_000
   */
  maxPathsPerDay: number;
}

export const DEFAULT_CONFIG: Readonly<TrackerConfig> = Object.freeze({
  site: 'default',
  sessionTimeoutMs: 30 * 60_000,
  persistEvery: 5,
  botMaxViewsPerMinute: 60,
  realtimeWindowMs: 5 * 60_000,
  queryAllowlist: [],
  excludePaths: ['/_anon/*', '/favicon.ico', '/robots.txt'],
  methods: ['GET', 'HEAD'],
  ipMode: 'drop',
  doNotTrack: 'aggregate',
  conversionWindowMs: 24 * 60 * 60_000,
  uaCacheSize: 5_000,
  timeZone: 'UTC',
  retentionDays: 90,
  authenticatedRetentionDays: null,
  retention: true,
  routes: [],
  maxPathsPerDay: 1_000,
});

/** Limits that every stored string respects (core truncates before anything reaches a store). */
export const LIMITS = Object.freeze({
  path: 500,
  url: 500,
  referrer: 500,
  userAgent: 500,
  utm: 100,
  browser: 50,
  os: 50,
  userId: 200,
  scope: 200,
  pageType: 50,
  country: 2,
  city: 100,
});
