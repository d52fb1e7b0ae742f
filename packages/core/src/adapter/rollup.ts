import { AnonError } from '../errors.js';
import { matchPath } from '../match-path.js';
import type { Day, Millis, PageView, PurgeOptions, Session, SessionRollup, VisitorRollup } from '../types.js';
import type { CheckedQuery } from './check-query.js';
import { isCalendarDay } from './day-check.js';
import type { LiveSession } from './live-session.js';

// Rollups: what `purge` keeps of the sessions and page views it removes, so the session-level reports of a
// purged day read the same as before (docs/semantics.md, "Rollups"). Every store folds with these rules; a
// store that folds inside its database computes the same rules there, and the purge-rollup contract ties the
// two together.

/** The fields a `SessionRollup` row is keyed by, in key order. */
export const SESSION_ROLLUP_KEY_FIELDS = [
  'day',
  'landingPath',
  'exitPath',
  'isBot',
  'authenticated',
  'visitor',
  'referrerHost',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'device',
  'browser',
  'os',
  'country',
] as const;

/** The key of a `SessionRollup` row. */
export type SessionRollupKey = Pick<SessionRollup, (typeof SESSION_ROLLUP_KEY_FIELDS)[number]>;

/** The summary fields a rollup row takes from the stored summary rather than from the live session. */
export type RollupSummaryPart = Pick<
  Session,
  'referrerHost' | 'utmSource' | 'utmMedium' | 'utmCampaign' | 'device' | 'browser' | 'os'
>;

/**
 * Whether `conversions().visitorSessions` counts a session: its summary has no user id, or the session is
 * named by a conversion (`inConversion`). A purged session keeps this verdict in its rollup's `visitor`.
 */
export function isVisitorSession(summary: Pick<Session, 'userId'>, inConversion: boolean): boolean {
  return summary.userId === null || inConversion;
}

/**
 * The one-session rollup row of a session `purge` removes: the key fields as the live reports see the session
 * (`live`, from `liveSession` / `mergeLive`: day, landing and exit page, bot, authenticated, country) and its
 * summary's source and device fields; `sessions: 1`, its page views and duration, `bounces: 1` when it has
 * exactly one page view. `visitor` is {@link isVisitorSession} of the session.
 */
export function sessionRollupOf(
  live: LiveSession,
  summary: RollupSummaryPart,
  visitor: boolean,
): SessionRollup {
  return {
    day: live.day,
    landingPath: live.landingPath,
    exitPath: live.exitPath,
    isBot: live.isBot,
    authenticated: live.authenticated,
    visitor,
    referrerHost: summary.referrerHost,
    utmSource: summary.utmSource,
    utmMedium: summary.utmMedium,
    utmCampaign: summary.utmCampaign,
    device: summary.device,
    browser: summary.browser,
    os: summary.os,
    country: live.country,
    sessions: 1,
    pageViews: live.pageViews,
    bounces: live.pageViews === 1 ? 1 : 0,
    durationMs: live.durationMs,
  };
}

/** A stable string of a rollup row's key fields (two rows merge when their keys are equal). */
export function rollupKey(row: SessionRollupKey): string {
  return JSON.stringify(SESSION_ROLLUP_KEY_FIELDS.map((field) => row[field]));
}

/** Merges `row` into `rows` (keyed by {@link rollupKey}): a new key is added as a copy, else its sums grow. */
export function addSessionRollup(rows: Map<string, SessionRollup>, row: SessionRollup): void {
  const key = rollupKey(row);
  const stored = rows.get(key);
  if (stored === undefined) {
    rows.set(key, { ...row });
    return;
  }
  stored.sessions += row.sessions;
  stored.pageViews += row.pageViews;
  stored.bounces += row.bounces;
  stored.durationMs += row.durationMs;
}

/** Rows merged on their key, ordered by key: the canonical form two sets of rollups compare in. */
export function foldSessionRollups(rows: Iterable<SessionRollup>): SessionRollup[] {
  const merged = new Map<string, SessionRollup>();
  for (const row of rows) addSessionRollup(merged, row);
  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** The parts of a page view the visitor rollup reads. */
export type VisitorViewPart = Pick<PageView, 'day' | 'path' | 'visitorKey' | 'isBot'>;

/** A stable string of a visitor rollup row's key (`day`, `path`). */
export function visitorRollupKey(row: Pick<VisitorRollup, 'day' | 'path'>): string {
  return JSON.stringify([row.day, row.path]);
}

/** Merges `row` into `rows` (keyed by {@link visitorRollupKey}): a new key is added as a copy, else it adds. */
export function addVisitorRollup(rows: Map<string, VisitorRollup>, row: VisitorRollup): void {
  const key = visitorRollupKey(row);
  const stored = rows.get(key);
  if (stored === undefined) {
    rows.set(key, { ...row });
    return;
  }
  stored.visitors += row.visitors;
  stored.visitorsWithBots += row.visitorsWithBots;
}

/**
 * The visitor rollup rows of one purge: for each day of `removed`, a `path: null` row and one row per path,
 * where `visitors` counts the distinct non-null visitor keys of the removed non-bot views of that day (and
 * path) that no remaining non-bot view of that day (and path) has, and `visitorsWithBots` the same over every
 * view. `remaining` must hold every page view left after the purge on the days of `removed` (more is fine).
 * A visitor is therefore counted once, by the purge that removes its last view of the day, so repeated purges
 * stay exact. Rows whose two counts are 0 are left out.
 */
export function visitorRollupsOf(
  removed: Iterable<VisitorViewPart>,
  remaining: Iterable<VisitorViewPart>,
): VisitorRollup[] {
  // Per day, per path (null: the whole day), the keys still to count, without and with bot views.
  type Keys = { human: Set<string>; all: Set<string> };
  const days = new Map<Day, Map<string | null, Keys>>();
  const keysOf = (day: Day, path: string | null, create: boolean): Keys | undefined => {
    let scopes = days.get(day);
    if (scopes === undefined) {
      if (!create) return undefined;
      scopes = new Map();
      days.set(day, scopes);
    }
    let keys = scopes.get(path);
    if (keys === undefined && create) {
      keys = { human: new Set(), all: new Set() };
      scopes.set(path, keys);
    }
    return keys;
  };
  for (const view of removed) {
    if (view.visitorKey === null) continue;
    for (const path of [null, view.path]) {
      const keys = keysOf(view.day, path, true)!;
      keys.all.add(view.visitorKey);
      if (!view.isBot) keys.human.add(view.visitorKey);
    }
  }
  for (const view of remaining) {
    if (view.visitorKey === null || !days.has(view.day)) continue;
    for (const path of [null, view.path]) {
      const keys = keysOf(view.day, path, false);
      if (keys === undefined) continue;
      keys.all.delete(view.visitorKey);
      if (!view.isBot) keys.human.delete(view.visitorKey);
    }
  }
  const rows: VisitorRollup[] = [];
  for (const [day, scopes] of days) {
    for (const [path, keys] of scopes) {
      if (keys.human.size === 0 && keys.all.size === 0) continue;
      rows.push({ day, path, visitors: keys.human.size, visitorsWithBots: keys.all.size });
    }
  }
  return rows;
}

/** Which sessions a report selects by bot verdict. */
export type BotSelection = 'exclude' | 'include' | 'only';

/** `'include'` with `includeBots`, else `'exclude'`: the selection of every session report but `bots`. */
export const botSelectionOf = (q: Pick<CheckedQuery, 'includeBots'>): BotSelection =>
  q.includeBots ? 'include' : 'exclude';

/**
 * The rollup rows a session-level report counts for query `q`, as it selects live sessions: `day` in range,
 * `landingPath` matching the `path` filter, bots as `bots` says.
 */
export function rollupsIn(
  rows: Iterable<SessionRollup>,
  q: Pick<CheckedQuery, 'from' | 'to' | 'path'>,
  bots: BotSelection,
): SessionRollup[] {
  const found: SessionRollup[] = [];
  for (const row of rows) {
    if (row.day < q.from || row.day > q.to) continue;
    if (bots === 'exclude' && row.isBot) continue;
    if (bots === 'only' && !row.isBot) continue;
    if (q.path !== null && !matchPath(q.path, row.landingPath)) continue;
    found.push(row);
  }
  return found;
}

/**
 * Purged visitors per day for `overview().uniqueVisitors` under `q`: without a `path` filter the day's
 * `path: null` row; with one, the sum of the rows of the paths that match (exact for a filter naming one path;
 * a pattern matching several paths counts a visitor once per path). `visitorsWithBots` with `includeBots`,
 * else `visitors`.
 */
export function visitorRollupDays(
  rows: Iterable<VisitorRollup>,
  q: Pick<CheckedQuery, 'from' | 'to' | 'path' | 'includeBots'>,
): Map<Day, number> {
  const days = new Map<Day, number>();
  for (const row of rows) {
    if (row.day < q.from || row.day > q.to) continue;
    if (q.path === null ? row.path !== null : row.path === null || !matchPath(q.path, row.path)) continue;
    const n = q.includeBots ? row.visitorsWithBots : row.visitors;
    if (n !== 0) days.set(row.day, (days.get(row.day) ?? 0) + n);
  }
  return days;
}

/** Longest job name `claimDailyJob` takes. */
export const MAX_DAILY_JOB_NAME = 100;

/**
 * Checks `StoreWriter.claimDailyJob`'s arguments: `job` a non-empty string of at most
 * {@link MAX_DAILY_JOB_NAME} characters, `day` a real `YYYY-MM-DD` calendar day. Anything else is
 * `AnonError('invalid_input')` from `source`, so no store writes a claim for a bad key.
 *
 * @example
 * async claimDailyJob(job, day) { const claim = checkClaimDailyJob(job, day, 'my-store'); ... }
 */
export function checkClaimDailyJob(job: unknown, day: unknown, source: string): { job: string; day: Day } {
  if (typeof job !== 'string' || job.length === 0 || job.length > MAX_DAILY_JOB_NAME) {
    throw new AnonError(
      'invalid_input',
      `claimDailyJob() needs a job name of 1 to ${MAX_DAILY_JOB_NAME} characters, got ${String(job).slice(0, 50)}`,
      { source },
    );
  }
  if (!isCalendarDay(day)) {
    throw new AnonError(
      'invalid_input',
      `claimDailyJob() needs a YYYY-MM-DD day, got ${JSON.stringify(day)?.slice(0, 50)}`,
      { source },
    );
  }
  return { job, day };
}

/** `purge`'s options checked: what every store's purge reads. */
export interface CheckedPurge {
  /** Anonymous sessions started before this go. */
  before: Millis;
  /** Authenticated sessions started before this go too; null keeps them. */
  authenticatedBefore: Millis | null;
  dryRun: boolean;
}

/**
 * Checks `purge(before, options)`: `before` and `options.authenticatedBefore` (when given) finite times,
 * `dryRun` a boolean when given. Anything else is `AnonError('invalid_input')` from `source`.
 *
 * @example
 * async purge(before, options) { const p = checkPurge(before, options, 'my-store'); ... }
 */
export function checkPurge(before: unknown, options: PurgeOptions | undefined, source: string): CheckedPurge {
  const fail = (message: string) => new AnonError('invalid_input', message, { source });
  if (typeof before !== 'number' || !Number.isFinite(before)) {
    throw fail(`purge() needs a finite time, got ${String(before).slice(0, 50)}`);
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw fail('purge() options must be an object');
  }
  const authenticatedBefore = options?.authenticatedBefore ?? null;
  if (
    authenticatedBefore !== null &&
    (typeof authenticatedBefore !== 'number' || !Number.isFinite(authenticatedBefore))
  ) {
    throw fail(`authenticatedBefore must be a finite time, got ${String(authenticatedBefore).slice(0, 50)}`);
  }
  if (options?.dryRun !== undefined && typeof options.dryRun !== 'boolean') {
    throw fail('dryRun must be a boolean');
  }
  return { before, authenticatedBefore, dryRun: options?.dryRun === true };
}

/**
 * Whether `purge` removes a stored session. Never one named by a conversion (`inConversion`). An anonymous
 * session — no `userId`, no `convertedUserId` on its summary — goes when it started before `before`; an
 * authenticated one — a `userId` or `convertedUserId` on its summary, or any stored view carrying a user id
 * (`viewsAuthenticated`) — goes when it started before `authenticatedBefore`. (A summary without a user id
 * whose views carry one is stale: it goes by whichever cut-off comes first.)
 */
export function purgesSession(
  summary: Pick<Session, 'startedAt' | 'userId' | 'convertedUserId'>,
  viewsAuthenticated: boolean,
  inConversion: boolean,
  p: Pick<CheckedPurge, 'before' | 'authenticatedBefore'>,
): boolean {
  if (inConversion) return false;
  const anonymousSummary = summary.userId === null && summary.convertedUserId === null;
  if (anonymousSummary && summary.startedAt < p.before) return true;
  const authenticated = !anonymousSummary || viewsAuthenticated;
  return authenticated && p.authenticatedBefore !== null && summary.startedAt < p.authenticatedBefore;
}

/**
 * Whether `purge` removes a page view of no session (aggregate-only, `sessionId` null): at `at < before`, and
 * one carrying a user id also at `at < authenticatedBefore`.
 */
export function purgesUnsessionedView(
  view: Pick<PageView, 'at' | 'userId'>,
  p: Pick<CheckedPurge, 'before' | 'authenticatedBefore'>,
): boolean {
  if (view.at < p.before) return true;
  return view.userId !== null && p.authenticatedBefore !== null && view.at < p.authenticatedBefore;
}
