import type { BotSelection, CheckedQuery } from '@anon/core/adapter';
import { type Params, pathCondition } from './sql.js';

// Report queries are checked by core's `checkQuery` (one rule for every store); this file turns a checked
// query into SQL conditions.

/**
 * `WHERE` conditions selecting the session rollup rows of a query as `liveSessionsWith` selects sessions: day
 * in range, landing page, and bots excluded unless asked (`'only'`: bot rows alone, as `bots().sessions` counts).
 */
export function rollupWhere(
  q: CheckedQuery,
  p: Params,
  alias = 'r',
  bots: 'as-query' | 'only' = 'as-query',
): string {
  const parts = [`${alias}.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`];
  if (bots === 'only') parts.push(`${alias}.is_bot`);
  else if (!q.includeBots) parts.push(`NOT ${alias}.is_bot`);
  if (q.path !== null) parts.push(pathCondition(`${alias}.landing_path`, q.path, p));
  return parts.join(' AND ');
}

/** `WHERE` conditions selecting aggregate rows of a query: day in range and path. */
export function aggregateWhere(q: CheckedQuery, p: Params, alias = 'a'): string {
  const parts = [`${alias}.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`];
  if (q.path !== null) parts.push(pathCondition(`${alias}.path`, q.path, p));
  return parts.join(' AND ');
}

/** The session attributes a live session takes from its summary, else from its landing view (`SessionSource`). */
const SOURCE_COLUMNS = [
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'device',
  'browser',
  'os',
];

/**
 * `WITH` clauses ending in `live`: the sessions of a query as every session-level report counts them — each
 * stored summary merged with its stored page views, and sessions whose views are stored but whose summary is
 * not yet (core's `liveSession`, in SQL). Summaries are written only every few views, so the figures come from
 * `page_views` grouped by `session_id`. Columns: `id`, `day`, `landing_path`, `exit_path`, `country`,
 * `is_bot`, `authenticated`, `page_views`, `duration_ms`, and `referrer_host`, `utm_source`, `utm_medium`,
 * `utm_campaign`, `device`, `browser`, `os` (the summary's, else the landing view's). `bots` selects by the
 * merged bot verdict: by default as the query asks; `'only'` keeps bot sessions alone (`bots().sessions`).
 *
 * Partitions: every view of a session whose day is in range has `day >= from` (a session's day is its first
 * view's), so views are read from `from` on; a session with no summary whose views begin before `from` is not
 * in range, which the `NOT EXISTS` probe (by `page_views_session_idx`) settles.
 */
export function liveSessionsWith(
  q: CheckedQuery,
  p: Params,
  s: string,
  bots: BotSelection = q.includeBots ? 'include' : 'exclude',
): string {
  const from = p.add(q.from, 'date');
  const to = p.add(q.to, 'date');
  const conds = [`l.day BETWEEN ${from} AND ${to}`];
  if (bots === 'exclude') conds.push('NOT l.is_bot');
  if (bots === 'only') conds.push('l.is_bot');
  if (q.path !== null) conds.push(pathCondition('l.landing_path', q.path, p));
  return `cand AS (
      SELECT s.id FROM ${s}.sessions s WHERE s.day BETWEEN ${from} AND ${to}
      UNION
      SELECT pv.session_id FROM ${s}.page_views pv
      WHERE pv.day BETWEEN ${from} AND ${to} AND pv.session_id IS NOT NULL
    ),
    cv AS (
      SELECT pv.session_id AS id, count(*) AS n, min(pv.at) AS first_at, max(pv.at) AS last_at,
        bool_or(pv.is_bot) AS is_bot, bool_or(pv.user_id IS NOT NULL) AS authenticated,
        (array_agg(pv.day ORDER BY pv.seq, pv.id COLLATE "C"))[1] AS day,
        (array_agg(pv.path ORDER BY pv.seq, pv.id COLLATE "C"))[1] AS landing_path,
        (array_agg(pv.country ORDER BY pv.seq, pv.id COLLATE "C"))[1] AS country,
        ${SOURCE_COLUMNS.map((c) => `(array_agg(pv.${c} ORDER BY pv.seq, pv.id COLLATE "C"))[1] AS ${c}`).join(',\n        ')},
        (array_agg(pv.path ORDER BY pv.seq DESC, pv.id COLLATE "C" DESC))[1] AS exit_path
      FROM ${s}.page_views pv JOIN cand ON cand.id = pv.session_id
      WHERE pv.day >= ${from}
      GROUP BY pv.session_id
    ),
    merged AS (
      SELECT cand.id, coalesce(ss.day, cv.day) AS day, coalesce(ss.landing_path, cv.landing_path) AS landing_path,
        coalesce(cv.exit_path, ss.exit_path) AS exit_path,
        CASE WHEN ss.id IS NOT NULL THEN ss.country ELSE cv.country END AS country,
        ${SOURCE_COLUMNS.map((c) => `CASE WHEN ss.id IS NOT NULL THEN ss.${c} ELSE cv.${c} END AS ${c}`).join(',\n        ')},
        coalesce(ss.is_bot, false) OR coalesce(cv.is_bot, false) AS is_bot,
        ss.user_id IS NOT NULL OR coalesce(cv.authenticated, false) AS authenticated,
        greatest(ss.page_views, cv.n) AS page_views,
        round(extract(epoch FROM greatest(ss.last_seen_at, cv.last_at) - least(ss.started_at, cv.first_at)) * 1000)
          AS duration_ms
      FROM cand LEFT JOIN ${s}.sessions ss ON ss.id = cand.id LEFT JOIN cv ON cv.id = cand.id
      WHERE ss.id IS NOT NULL OR NOT EXISTS (
        SELECT 1 FROM ${s}.page_views e WHERE e.session_id = cand.id AND e.day < ${from}
      )
    ),
    live AS (SELECT l.* FROM merged l WHERE ${conds.join(' AND ')})`;
}
