import { AnonError, matchPath, type ReportQuery } from '@anon/core';

/** A report query after validation, with its defaults filled in. */
export interface CheckedQuery {
  from: string;
  to: string;
  path: string | null;
  includeBots: boolean;
  limit: number;
  /** Whether the caller gave `limit` (only the `aggregates` report cares). */
  limitGiven: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_LIMIT = 100;

/** The error every bad argument gets: typed, with the store's name in the message. */
export function invalidInput(message: string): AnonError {
  return new AnonError('invalid_input', message, { source: 'array-store' });
}

/** Validates a report query (days as `YYYY-MM-DD`, a string path, an integer limit ≥ 0). */
export function checkQuery(q: ReportQuery): CheckedQuery {
  if (q === null || typeof q !== 'object') throw invalidInput('a report needs a query object');
  if (typeof q.from !== 'string' || !DAY.test(q.from))
    throw invalidInput('query.from must be a YYYY-MM-DD day');
  if (typeof q.to !== 'string' || !DAY.test(q.to)) throw invalidInput('query.to must be a YYYY-MM-DD day');
  if (q.path !== undefined && typeof q.path !== 'string') throw invalidInput('query.path must be a string');
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw invalidInput('query.limit must be an integer ≥ 0');
  return {
    from: q.from,
    to: q.to,
    path: q.path ?? null,
    includeBots: q.includeBots === true,
    limit,
    limitGiven: q.limit !== undefined,
  };
}

/** Days are inclusive; `YYYY-MM-DD` strings compare like the dates they name. */
export function inRange(day: string, q: CheckedQuery): boolean {
  return day >= q.from && day <= q.to;
}

/** No path filter, or an exact path, or a pattern where `*` is any run of characters. */
export function pathMatches(path: string, q: CheckedQuery): boolean {
  return q.path === null || matchPath(q.path, path);
}
