import { AnonError, type ReportQuery } from '@anon/core';
import { boundDay, type Params, pathCondition } from './sql.js';

/** A report query checked and with its defaults applied. */
export interface CheckedQuery {
  from: string;
  to: string;
  path: string | null;
  includeBots: boolean;
  limit: number;
  /** Whether the caller gave `limit`: the raw `aggregates` export is only cut when asked. */
  limited: boolean;
}

/** Default number of rows a report returns. */
export const DEFAULT_LIMIT = 100;

/** Check a report query (days, limit) and apply the defaults; bad values are `invalid_input` errors. */
export function checkQuery(q: ReportQuery): CheckedQuery {
  if (q === null || typeof q !== 'object') {
    throw new AnonError('invalid_input', 'a report needs a query object { from, to }', {
      source: 'postgres',
    });
  }
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new AnonError('invalid_input', `limit must be an integer >= 0, got ${String(limit)}`, {
      source: 'postgres',
    });
  }
  if (q.path !== undefined && q.path !== null && typeof q.path !== 'string') {
    throw new AnonError('invalid_input', 'path must be a string', { source: 'postgres' });
  }
  // A bound with no real day on its side makes the range empty: an impossible pair of real days says so.
  const from = boundDay(q.from, 'from', 'from');
  const to = boundDay(q.to, 'to', 'to');
  const empty = from === null || to === null;
  return {
    from: empty ? '9999-12-31' : from,
    to: empty ? '0001-01-01' : to,
    path: q.path ?? null,
    includeBots: q.includeBots === true,
    limit,
    limited: q.limit !== undefined,
  };
}

/** `WHERE` conditions selecting the sessions of a query: day in range, bots unless asked, landing page. */
export function sessionWhere(q: CheckedQuery, p: Params, alias = 's'): string {
  const parts = [`${alias}.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`];
  if (!q.includeBots) parts.push(`NOT ${alias}.is_bot`);
  if (q.path !== null) parts.push(pathCondition(`${alias}.landing_path`, q.path, p));
  return parts.join(' AND ');
}

/** `WHERE` conditions selecting aggregate rows of a query: day in range and path. */
export function aggregateWhere(q: CheckedQuery, p: Params, alias = 'a'): string {
  const parts = [`${alias}.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`];
  if (q.path !== null) parts.push(pathCondition(`${alias}.path`, q.path, p));
  return parts.join(' AND ');
}
