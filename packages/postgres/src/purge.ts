import type { PurgeResult } from '@anon/core';
import type { CheckedPurge } from '@anon/core/adapter';
import { type Queryable, rowsOf } from './client.js';
import { advisoryLock } from './locks.js';
import { type PartitionedTable, partitionDay, partitionName } from './partitions.js';
import { ts } from './sql.js';

/** The cut-offs of core's `checkPurge`: anonymous data before `before`, users' before `authenticatedBefore`. */
export type PurgeCutoffs = Pick<CheckedPurge, 'before' | 'authenticatedBefore'>;

// The statements below bind `$1` = before and, when they name it, `$2` = authenticatedBefore (epoch ms as
// float8): `cutoffParams` gives the list a statement needs (a clause with `$2` appears only when the cut-off
// is given).
const cutoffParams = (c: PurgeCutoffs, sql: string): number[] =>
  c.authenticatedBefore !== null && sql.includes('$2') ? [c.before, c.authenticatedBefore] : [c.before];

/** Days of `table`'s partitions (named by us) that are older than `before`, oldest first. */
async function partitionDays(q: Queryable, schema: string, table: PartitionedTable, before: string) {
  const rows = await rowsOf<{ name: string }>(
    q,
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     JOIN pg_class p ON p.oid = i.inhparent
     JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = $1 AND p.relname = $2`,
    [schema, table],
  );
  const days: string[] = [];
  for (const { name } of rows) {
    const day = partitionDay(name);
    if (day !== null && name === partitionName(table, day) && day < before) days.push(day);
  }
  return days.sort();
}

const notConverted = (s: string) =>
  `NOT EXISTS (SELECT 1 FROM ${s}.conversions c WHERE c.session_ids @> ARRAY[s.id])`;

/**
 * Ids of the sessions a purge removes, named by no conversion: anonymous ones (no user, not converted) started
 * before `$1`; with an authenticated cut-off also those of a user (`user_id`, `converted_user_id`, or a stored
 * page view with a user id while the summary has none yet) started before `$2`.
 */
function purgeable(s: string, c: PurgeCutoffs): string {
  const anonymous = `SELECT s.id FROM ${s}.sessions s
    WHERE s.started_at < ${ts('$1::float8')} AND s.user_id IS NULL AND s.converted_user_id IS NULL
      AND ${notConverted(s)}`;
  if (c.authenticatedBefore === null) return anonymous;
  return `${anonymous}
    UNION
    SELECT s.id FROM ${s}.sessions s
    WHERE s.started_at < ${ts('$2::float8')} AND (s.user_id IS NOT NULL OR s.converted_user_id IS NOT NULL)
      AND ${notConverted(s)}
    UNION
    SELECT s.id FROM ${s}.sessions s
    WHERE s.started_at < ${ts('$2::float8')} AND s.user_id IS NULL AND s.converted_user_id IS NULL
      AND EXISTS (SELECT 1 FROM ${s}.page_views v WHERE v.session_id = s.id AND v.user_id IS NOT NULL)
      AND ${notConverted(s)}`;
}

/**
 * A session-less row (alias `r`) that goes: older than `$1`, or — with an authenticated cut-off — a page view
 * with a user id older than `$2`, or a metric of such a view (listed in `anon_purged_user_views`).
 */
function sessionlessGone(table: PartitionedTable, alias: string, c: PurgeCutoffs): string {
  const old = `${alias}.at < ${ts('$1::float8')}`;
  if (c.authenticatedBefore === null) return old;
  if (table === 'page_views')
    return `(${old} OR (${alias}.user_id IS NOT NULL AND ${alias}.at < ${ts('$2::float8')}))`;
  return `(${old} OR EXISTS (SELECT 1 FROM anon_purged_user_views x WHERE x.day = ${alias}.day AND x.id = ${alias}.view_id))`;
}

/** What `purge` would remove, counted without changing or locking anything. */
export async function countPurge(q: Queryable, s: string, c: PurgeCutoffs): Promise<PurgeResult> {
  const userViews =
    c.authenticatedBefore === null
      ? 'false'
      : `EXISTS (SELECT 1 FROM ${s}.page_views v WHERE v.day = r.day AND v.id = r.view_id AND v.session_id IS NULL
           AND v.user_id IS NOT NULL AND v.at < ${ts('$2::float8')})`;
  const gone = (table: 'page_views' | 'page_metrics') => {
    const sessionless =
      table === 'page_views'
        ? sessionlessGone(table, 'r', c)
        : `(r.at < ${ts('$1::float8')} OR ${userViews})`;
    return `(SELECT count(*) FROM ${s}.${table} r
      WHERE r.session_id IN (SELECT id FROM p) OR (r.session_id IS NULL AND ${sessionless}))::int`;
  };
  const sql = `WITH p AS MATERIALIZED (${purgeable(s, c)})
     SELECT (SELECT count(*) FROM p)::int AS sessions, ${gone('page_views')} AS "pageViews",
       ${gone('page_metrics')} AS metrics`;
  const [row] = await rowsOf<PurgeResult>(q, sql, cutoffParams(c, sql));
  return row ?? { sessions: 0, pageViews: 0, metrics: 0 };
}

/**
 * The key of a session rollup row besides its day: a SHA-256 of the key fields as one JSON array (which keeps
 * null apart from any string). Reports group by the columns, so a hash that ever changed would only split rows.
 */
const ROLLUP_KEY = (l: string) =>
  `sha256(convert_to(jsonb_build_array(${l}.landing_path, ${l}.exit_path, ${l}.is_bot, ${l}.authenticated,
    ${l}.visitor, ${l}.referrer_host, ${l}.utm_source, ${l}.utm_medium, ${l}.utm_campaign, ${l}.device,
    ${l}.browser, ${l}.os, ${l}.country)::text, 'UTF8'))`;

const ROLLUP_GROUP = `l.day, l.landing_path, l.exit_path, l.is_bot, l.authenticated, l.visitor, l.referrer_host,
  l.utm_source, l.utm_medium, l.utm_campaign, l.device, l.browser, l.os, l.country`;

/**
 * Fold the purged sessions (`anon_purged_sessions`, deleted already; their page views not yet) into
 * `session_rollups`: each as the live reports count it — its summary merged with its stored page views (core's
 * `mergeLive`) — grouped on every key field and added to the stored row of the same key.
 *
 * `visitor` mirrors `conversions().visitorSessions`: a session with no user id in its summary, or named by a
 * conversion (never the case for a purged session).
 */
async function foldSessions(q: Queryable, s: string): Promise<void> {
  await q.query(
    `WITH v AS (
       SELECT pv.session_id AS id, count(*) AS n, min(pv.at) AS first_at, max(pv.at) AS last_at,
         bool_or(pv.is_bot) AS is_bot, bool_or(pv.user_id IS NOT NULL) AS authenticated,
         (array_agg(pv.path ORDER BY pv.seq DESC, pv.id COLLATE "C" DESC))[1] AS exit_path
       FROM ${s}.page_views pv JOIN anon_purged_sessions p ON p.id = pv.session_id
       GROUP BY pv.session_id
     ),
     l AS (
       SELECT p.day, p.landing_path, coalesce(v.exit_path, p.exit_path) AS exit_path,
         p.is_bot OR coalesce(v.is_bot, false) AS is_bot,
         p.user_id IS NOT NULL OR coalesce(v.authenticated, false) AS authenticated,
         p.user_id IS NULL AS visitor,
         p.referrer_host, p.utm_source, p.utm_medium, p.utm_campaign, p.device, p.browser, p.os, p.country,
         greatest(p.page_views, v.n) AS page_views,
         round(extract(epoch FROM greatest(p.last_seen_at, v.last_at) - least(p.started_at, v.first_at)) * 1000)
           AS duration_ms
       FROM anon_purged_sessions p LEFT JOIN v ON v.id = p.id
     )
     INSERT INTO ${s}.session_rollups AS r (day, key, landing_path, exit_path, is_bot, authenticated, visitor,
       referrer_host, utm_source, utm_medium, utm_campaign, device, browser, os, country,
       sessions, page_views, bounces, duration_ms)
     SELECT l.day, ${ROLLUP_KEY('l')}, l.landing_path, l.exit_path, l.is_bot, l.authenticated, l.visitor,
       l.referrer_host, l.utm_source, l.utm_medium, l.utm_campaign, l.device, l.browser, l.os, l.country,
       count(*), sum(l.page_views), count(*) FILTER (WHERE l.page_views = 1), sum(l.duration_ms)::float8
     FROM l GROUP BY ${ROLLUP_GROUP}
     ON CONFLICT (day, key) DO UPDATE SET sessions = r.sessions + EXCLUDED.sessions,
       page_views = r.page_views + EXCLUDED.page_views, bounces = r.bounces + EXCLUDED.bounces,
       duration_ms = r.duration_ms + EXCLUDED.duration_ms`,
  );
}

/**
 * Fold the visitors of the removed page views (`anon_purged_visitors`, captured before they went) into
 * `visitor_rollups`: per day (path null) and per (day, path), the visitor keys no remaining page view of that
 * day (and path) has — non-bot views for `visitors`, every view for `visitors_with_bots`. A visitor is so
 * counted once, by the purge that removes its last view of the day, however many purges it takes.
 */
async function foldVisitors(q: Queryable, s: string): Promise<void> {
  const [range] = await rowsOf<{ first: string | null; last: string | null }>(
    q,
    `SELECT to_char(min(day), 'YYYY-MM-DD') AS first, to_char(max(day), 'YYYY-MM-DD') AS last
     FROM anon_purged_visitors`,
  );
  if (!range?.first || !range.last) return;
  for (const pathed of [false, true]) {
    const cols = (alias: string) =>
      [`${alias}.day`, ...(pathed ? [`${alias}.path`] : []), `${alias}.visitor_key`].join(', ');
    const visitors = 'count(*) FILTER (WHERE NOT g.bots_only AND coalesce(k.bots_only, true))';
    const withBots = 'count(*) FILTER (WHERE k.day IS NULL)';
    await q.query(
      `WITH g AS (
         SELECT ${cols('u')}, bool_and(u.is_bot) AS bots_only FROM anon_purged_visitors u GROUP BY ${cols('u')}
       ),
       k AS (
         SELECT ${cols('pv')}, bool_and(pv.is_bot) AS bots_only FROM ${s}.page_views pv
         WHERE pv.day BETWEEN $1::date AND $2::date AND (${cols('pv')}) IN (SELECT ${cols('g')} FROM g)
         GROUP BY ${cols('pv')}
       )
       INSERT INTO ${s}.visitor_rollups AS r (day, path, visitors, visitors_with_bots)
       SELECT g.day, ${pathed ? 'g.path' : 'NULL'}, ${visitors}, ${withBots}
       FROM g LEFT JOIN k ON (${cols('k')}) = (${cols('g')})
       GROUP BY g.day${pathed ? ', g.path' : ''}
       HAVING ${visitors} > 0 OR ${withBots} > 0
       ON CONFLICT (day, (coalesce(path, '')), (path IS NULL)) DO UPDATE
         SET visitors = r.visitors + EXCLUDED.visitors,
           visitors_with_bots = r.visitors_with_bots + EXCLUDED.visitors_with_bots`,
      [range.first, range.last],
    );
  }
}

/**
 * Retention, inside the caller's transaction (so an interrupted purge folds nothing and a rerun folds each
 * session once). The sessions to go are deleted first, their rows kept in a temporary table; they are folded
 * into `session_rollups` with their page views, and the visitor keys of every page view about to go are
 * captured. Then each day partition of page views and metrics older than the cut-off day that holds nothing
 * to keep is dropped whole (counted first), the remaining rows of purged sessions and the session-less rows
 * past their cut-off are deleted, and the captured visitors that no remaining page view of their day has are
 * folded into `visitor_rollups`. Unique-visitor partitions of days before `before`'s day are dropped.
 * Aggregates and conversions are never touched.
 */
export async function purge(
  q: Queryable,
  schema: string,
  s: string,
  c: PurgeCutoffs,
  timeZone: string,
): Promise<PurgeResult> {
  // One purge of a schema at a time: two would wait on each other's row and partition locks.
  const [lockSql, lockParams] = advisoryLock(schema, 'purge');
  await q.query(lockSql, lockParams);
  const [days] = (await rowsOf<{ beforeDay: string; dropDay: string }>(
    q,
    `SELECT to_char((${ts('$1::float8')} AT TIME ZONE $2::text)::date, 'YYYY-MM-DD') AS "beforeDay",
       to_char((${ts('greatest($1::float8, $3::float8)')} AT TIME ZONE $2::text)::date, 'YYYY-MM-DD') AS "dropDay"`,
    [c.before, timeZone, c.authenticatedBefore],
  )) as [{ beforeDay: string; dropDay: string }];

  // Each temporary table lives until the transaction ends; IF NOT EXISTS + TRUNCATE makes a retry safe.
  await q.query(
    `CREATE TEMP TABLE IF NOT EXISTS anon_purged_sessions ON COMMIT DROP AS
     SELECT * FROM ${s}.sessions WITH NO DATA`,
  );
  await q.query(
    `CREATE TEMP TABLE IF NOT EXISTS anon_purged_visitors
       (day date NOT NULL, path text NOT NULL, visitor_key text NOT NULL, is_bot boolean NOT NULL) ON COMMIT DROP`,
  );
  await q.query(
    'CREATE TEMP TABLE IF NOT EXISTS anon_purged_user_views (day date NOT NULL, id text NOT NULL) ON COMMIT DROP',
  );
  await q.query('TRUNCATE anon_purged_sessions, anon_purged_visitors, anon_purged_user_views');

  /** Run a statement binding the cut-offs it names. */
  const bound = <R>(sql: string) => rowsOf<R>(q, sql, cutoffParams(c, sql));

  const [deleted] = await bound<{ sessions: number }>(
    `WITH d AS (DELETE FROM ${s}.sessions WHERE id IN (${purgeable(s, c)}) RETURNING *),
     kept AS (INSERT INTO anon_purged_sessions SELECT * FROM d RETURNING 1)
     SELECT count(*)::int AS sessions FROM kept`,
  );
  await q.query('CREATE INDEX IF NOT EXISTS anon_purged_sessions_id ON anon_purged_sessions (id)');
  await q.query('ANALYZE anon_purged_sessions');
  if (c.authenticatedBefore !== null) {
    await q.query(
      `INSERT INTO anon_purged_user_views SELECT v.day, v.id FROM ${s}.page_views v
       WHERE v.session_id IS NULL AND v.user_id IS NOT NULL AND v.at < ${ts('$1::float8')}`,
      [c.authenticatedBefore],
    );
  }

  // A row goes if its session was purged, or it has no session and is past its cut-off.
  const gone = (table: PartitionedTable, alias: string) =>
    `(${alias}.session_id IN (SELECT id FROM anon_purged_sessions)
      OR (${alias}.session_id IS NULL AND ${sessionlessGone(table, alias, c)}))`;
  const keeps = (table: PartitionedTable, alias: string) =>
    `(${alias}.session_id IS NULL AND NOT ${sessionlessGone(table, alias, c)})
     OR (${alias}.session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM anon_purged_sessions x WHERE x.id = ${alias}.session_id))`;

  await foldSessions(q, s);
  await bound(
    `INSERT INTO anon_purged_visitors
     SELECT DISTINCT v.day, v.path, v.visitor_key, v.is_bot FROM ${s}.page_views v
     WHERE v.visitor_key IS NOT NULL AND ${gone('page_views', 'v')}`,
  );

  const removed = { page_views: 0, page_metrics: 0 };
  for (const table of ['page_views', 'page_metrics'] as const) {
    for (const day of await partitionDays(q, schema, table, days.dropDay)) {
      const part = `${s}.${partitionName(table, day)}`;
      const [state] = await bound<{ keep: boolean; rows: number }>(
        `SELECT EXISTS (SELECT 1 FROM ${part} r WHERE ${keeps(table, 'r')}) AS keep,
           (SELECT count(*) FROM ${part})::int AS rows`,
      );
      if (state && !state.keep) {
        await q.query(`DROP TABLE ${part}`);
        removed[table] += state.rows;
      }
    }
    const [row] = await bound<{ n: number }>(
      `WITH d AS (DELETE FROM ${s}.${table} r WHERE ${gone(table, 'r')} RETURNING 1)
       SELECT count(*)::int AS n FROM d`,
    );
    removed[table] += row?.n ?? 0;
  }
  await foldVisitors(q, s);
  // A purged session's bot flag goes with its rows: one written again afterwards counts anew.
  await q.query(`DELETE FROM ${s}.bot_sessions WHERE id IN (SELECT id FROM anon_purged_sessions)`);

  for (const day of await partitionDays(q, schema, 'page_visitors', days.beforeDay)) {
    await q.query(`DROP TABLE ${s}.${partitionName('page_visitors', day)}`);
  }
  await q.query(`DELETE FROM ${s}.page_visitors WHERE day < $1::date`, [days.beforeDay]);

  return {
    sessions: deleted?.sessions ?? 0,
    pageViews: removed.page_views,
    metrics: removed.page_metrics,
  };
}
