import { AnonError } from '../errors.js';
import type { Millis, ReportQuery } from '../types.js';
import { isCalendarDay } from './day-check.js';

/** A report query checked, with its defaults applied: what every store's report code reads. */
export interface CheckedQuery {
  /** First day, inclusive (a real `YYYY-MM-DD` day). */
  from: string;
  /** Last day, inclusive; before `from` makes an empty range. */
  to: string;
  /** Exact path or `*` pattern; null for none. */
  path: string | null;
  includeBots: boolean;
  limit: number;
  /** Whether the caller gave `limit`: the raw `aggregates` export is only cut when asked. */
  limited: boolean;
}

/** Rows a report returns when the query gives no `limit`. */
export const DEFAULT_REPORT_LIMIT = 100;
/** Longest path filter a report takes, in UTF-16 units (a stored path is at most `LIMITS.path`). */
export const MAX_PATH_PATTERN = 1_000;
/** Steps a journey keeps when the query gives no `maxSteps`. */
export const DEFAULT_MAX_STEPS = 5;
/** Most visitor keys one `visitorSessions` call takes (a signup window holds a handful). */
export const MAX_VISITOR_KEYS = 1_000;

/**
 * Checks a report query and applies its defaults (docs/semantics.md, "Reports"). `from` and `to` must be real
 * `YYYY-MM-DD` calendar days (years 0001–9999): `'2026-02-30'` or `'2026-1-5'` is an error, never read as an
 * empty or shifted range. `path` is a string of at most {@link MAX_PATH_PATTERN} characters, `includeBots` a
 * boolean, `limit` an integer ≥ 0 (@default 100). Anything else is `AnonError('invalid_input')` from `source`.
 *
 * @example
 * topPages: async (query) => { const q = checkQuery(query, 'my-store'); … }
 */
export function checkQuery(q: ReportQuery, source: string): CheckedQuery {
  const fail = (message: string) => new AnonError('invalid_input', message, { source });
  if (q === null || typeof q !== 'object') throw fail('a report needs a query object { from, to }');
  for (const field of ['from', 'to'] as const) {
    if (!isCalendarDay(q[field])) {
      throw fail(`${field} must be a YYYY-MM-DD day, got ${JSON.stringify(q[field])?.slice(0, 50)}`);
    }
  }
  const path = q.path ?? null;
  if (path !== null && (typeof path !== 'string' || path.length > MAX_PATH_PATTERN)) {
    throw fail(`path must be a string of at most ${MAX_PATH_PATTERN} characters`);
  }
  if (q.includeBots !== undefined && typeof q.includeBots !== 'boolean') {
    throw fail('includeBots must be a boolean');
  }
  const limit = q.limit ?? DEFAULT_REPORT_LIMIT;
  if (!(Number.isSafeInteger(limit) && limit >= 0)) {
    throw fail(`limit must be an integer ≥ 0, got ${String(limit).slice(0, 50)}`);
  }
  return {
    from: q.from,
    to: q.to,
    path,
    includeBots: q.includeBots === true,
    limit,
    limited: q.limit !== undefined,
  };
}

/** Most steps a funnel takes (each step is a column of the SQL report). */
export const MAX_FUNNEL_STEPS = 50;

/** Checks the steps of a `funnel` report: an array of at most {@link MAX_FUNNEL_STEPS} path patterns. */
export function checkFunnelSteps(steps: unknown, source: string): string[] {
  if (
    !Array.isArray(steps) ||
    steps.some((step) => typeof step !== 'string' || step.length > MAX_PATH_PATTERN)
  ) {
    throw new AnonError('invalid_input', 'funnel steps must be an array of path patterns', { source });
  }
  if (steps.length > MAX_FUNNEL_STEPS) {
    throw new AnonError(
      'invalid_input',
      `a funnel has at most ${MAX_FUNNEL_STEPS} steps, got ${steps.length}`,
      {
        source,
      },
    );
  }
  return steps as string[];
}

/** Checks a `journeys` report's `maxSteps` (an integer ≥ 1) and applies its default (@default 5). */
export function checkMaxSteps(maxSteps: unknown, source: string): number {
  const value = maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(Number.isSafeInteger(value) && (value as number) >= 1)) {
    throw new AnonError(
      'invalid_input',
      `maxSteps must be an integer ≥ 1, got ${String(value).slice(0, 50)}`,
      {
        source,
      },
    );
  }
  return value as number;
}

/**
 * Checks the arguments of `visitorSessions`: an array of at most {@link MAX_VISITOR_KEYS} string keys and two
 * finite times. Returns the keys without duplicates.
 */
export function checkVisitorSessions(
  visitorKeys: unknown,
  since: Millis,
  until: Millis,
  source: string,
): string[] {
  const fail = (message: string) => new AnonError('invalid_input', message, { source });
  if (!Array.isArray(visitorKeys) || visitorKeys.some((key) => typeof key !== 'string')) {
    throw fail('visitorSessions() needs visitor keys as an array of strings');
  }
  if (visitorKeys.length > MAX_VISITOR_KEYS) {
    throw fail(`visitorSessions() takes at most ${MAX_VISITOR_KEYS} visitor keys`);
  }
  if (!Number.isFinite(since) || !Number.isFinite(until)) {
    throw fail('visitorSessions() needs "since" and "until" as finite times');
  }
  return [...new Set(visitorKeys as string[])];
}
