import { compareCodePoints } from '../memory/code-point-order.js';
import type { Day, PageView, Session, SessionRollup } from '../types.js';

/**
 * A session's source and device, as the reports group sessions by them (`referrers`, `campaigns`, `devices`).
 * The engine writes them into the summary from the session's first view, so a summary and its landing view agree.
 */
export type SessionSource = Pick<
  Session,
  'referrerHost' | 'utmSource' | 'utmMedium' | 'utmCampaign' | 'device' | 'browser' | 'os'
>;

/**
 * A session as every session-level report counts it: its stored summary merged with its stored page views.
 * Summaries reach the store only on the 1st and every 5th view and at finalization, so a live session's
 * summary is stale; its page views are all written. Merging both (monotonically, as `mergeSession` merges
 * summaries) makes a report exact at any moment, and equal to the summary once the session is finalized
 * (the finalized summary is the fold of its views). Its source and device (`SessionSource`) are the summary's,
 * else the landing view's.
 */
export interface LiveSession extends SessionSource {
  id: string;
  /** The summary's day, else the day of the landing view (lowest `seq`, then id). */
  day: Day;
  /** The summary's landing page, else the landing view's path. */
  landingPath: string;
  /** The summary says bot or any stored view is a bot view (a session flagged bot stays bot). */
  isBot: boolean;
  /** The summary or any stored view carries a user id. */
  authenticated: boolean;
  /** The path of the last stored view (highest `seq`, then id), else the summary's exit page. */
  exitPath: string;
  /** The summary's country, else the landing view's. */
  country: string | null;
  /** The greater of the summary's `pageViews` and the number of stored views. */
  pageViews: number;
  /** Latest minus earliest time known, from the summary's `startedAt`/`lastSeenAt` and the views' `at`. */
  durationMs: number;
}

/**
 * Whether `conversions().visitorSessions` counts a live session: no user id on its summary nor on any stored
 * view (`authenticated` false), or named by a conversion (`inConversion`: a sign-up's own session is logged in
 * from the sign-up on). A summary is written only every few views, so its user id alone would lag a log-in.
 */
export function isLiveVisitorSession(
  live: Pick<LiveSession, 'authenticated'>,
  inConversion: boolean,
): boolean {
  return !live.authenticated || inConversion;
}

/**
 * Whether `conversions().visitorSessions` counts the sessions of a rollup row: `visitor` (its summary had no user
 * id, or a conversion named it) and not `authenticated` (no user id on its summary nor its views). A purge never
 * removes a session a conversion names, so this is {@link isLiveVisitorSession} of the purged sessions, whose
 * summaries may have lagged a log-in when they were folded.
 */
export function isVisitorRollup(row: Pick<SessionRollup, 'visitor' | 'authenticated'>): boolean {
  return row.visitor && !row.authenticated;
}

/** What a session's stored page views say about it, folded (a store may fold them in its database). */
export interface ViewFold {
  /** Number of stored views (≥ 1). */
  count: number;
  firstAt: number;
  lastAt: number;
  /** Any view is a bot view. */
  isBot: boolean;
  /** Any view carries a user id. */
  authenticated: boolean;
  /** Day and path of the landing view: lowest `seq`, then id in code-point order. */
  landingDay: Day;
  landingPath: string;
  landingCountry: string | null;
  /** Source and device of the landing view. */
  landingSource: SessionSource;
  /** Path of the last view: highest `seq`, then id. */
  exitPath: string;
}

/** The parts of a stored summary the merge reads. */
export type SummaryPart = Pick<
  Session,
  | 'day'
  | 'landingPath'
  | 'exitPath'
  | 'country'
  | 'isBot'
  | 'userId'
  | 'pageViews'
  | 'startedAt'
  | 'lastSeenAt'
  | keyof SessionSource
>;

/** The source and device fields of a summary or a page view. */
function sourceOf(from: SessionSource): SessionSource {
  return {
    referrerHost: from.referrerHost,
    utmSource: from.utmSource,
    utmMedium: from.utmMedium,
    utmCampaign: from.utmCampaign,
    device: from.device,
    browser: from.browser,
    os: from.os,
  };
}

/** Folds a session's stored page views (any order, at least one); null for none. */
export function foldViews(views: readonly PageView[]): ViewFold | null {
  let landing: PageView | null = null;
  let exit: PageView | null = null;
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = Number.NEGATIVE_INFINITY;
  let isBot = false;
  let authenticated = false;
  for (const view of views) {
    if (
      landing === null ||
      view.seq < landing.seq ||
      (view.seq === landing.seq && compareCodePoints(view.id, landing.id) < 0)
    ) {
      landing = view;
    }
    if (
      exit === null ||
      view.seq > exit.seq ||
      (view.seq === exit.seq && compareCodePoints(view.id, exit.id) > 0)
    ) {
      exit = view;
    }
    if (view.at < firstAt) firstAt = view.at;
    if (view.at > lastAt) lastAt = view.at;
    if (view.isBot) isBot = true;
    if (view.userId !== null) authenticated = true;
  }
  if (landing === null) return null;
  return {
    count: views.length,
    firstAt,
    lastAt,
    isBot,
    authenticated,
    landingDay: landing.day,
    landingPath: landing.path,
    landingCountry: landing.country,
    landingSource: sourceOf(landing),
    exitPath: (exit as PageView).path,
  };
}

/**
 * Merges a stored summary (if any) with the fold of its stored page views (if any): attributes (day, landing
 * page, country, source, device) from the summary, else the landing view; bot and authenticated if either says
 * so; the greater page count; the widest time span. Null when neither exists.
 */
export function mergeLive(
  id: string,
  summary: SummaryPart | null,
  views: ViewFold | null,
): LiveSession | null {
  if (summary === null && views === null) return null;
  const first = Math.min(
    summary?.startedAt ?? Number.POSITIVE_INFINITY,
    views?.firstAt ?? Number.POSITIVE_INFINITY,
  );
  const last = Math.max(
    summary?.lastSeenAt ?? Number.NEGATIVE_INFINITY,
    views?.lastAt ?? Number.NEGATIVE_INFINITY,
  );
  return {
    id,
    day: summary?.day ?? views!.landingDay,
    landingPath: summary?.landingPath ?? views!.landingPath,
    exitPath: views?.exitPath ?? summary!.exitPath,
    country: summary !== null ? summary.country : views!.landingCountry,
    isBot: (summary?.isBot ?? false) || (views?.isBot ?? false),
    authenticated: (summary !== null && summary.userId !== null) || (views?.authenticated ?? false),
    pageViews: Math.max(summary?.pageViews ?? 0, views?.count ?? 0),
    durationMs: last - first,
    ...(summary !== null ? sourceOf(summary) : views!.landingSource),
  };
}

/**
 * A session's stored summary (if any) merged with its stored page views (any order; all of that session).
 * Null when neither exists.
 */
export function liveSession(summary: Session | null, views: readonly PageView[]): LiveSession | null {
  const fold = foldViews(views);
  const id = summary?.id ?? views[0]?.sessionId ?? null;
  return id === null ? null : mergeLive(id, summary, fold);
}
