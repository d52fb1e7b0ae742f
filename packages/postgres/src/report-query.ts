import type { CheckedQuery } from '@anon/core/adapter';
import { type Params, pathCondition } from './sql.js';

// Report queries are checked by core's `checkQuery` (one rule for every store); this file turns a checked
// query into SQL conditions.

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
