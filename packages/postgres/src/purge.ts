import type { PurgeResult } from '@anon/core';
import { type Queryable, rowsOf } from './client.js';
import { type PartitionedTable, partitionDay, partitionName } from './partitions.js';
import { ts } from './sql.js';

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

/** Anonymous sessions a purge at `before` ($1, epoch ms) removes: no user, not converted, in no conversion. */
const purgeable = (s: string) => `
  SELECT s.id FROM ${s}.sessions s
  WHERE s.started_at < ${ts('$1::float8')} AND s.user_id IS NULL AND s.converted_user_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM ${s}.conversions c WHERE c.session_ids @> ARRAY[s.id])`;

/** What `purge` would remove, counted without changing or locking anything. */
export async function countPurge(q: Queryable, s: string, before: number): Promise<PurgeResult> {
  const gone = (table: string) => `(SELECT count(*) FROM ${s}.${table} r
    WHERE r.session_id IN (SELECT id FROM p) OR (r.session_id IS NULL AND r.at < ${ts('$1::float8')}))::int`;
  const [row] = await rowsOf<PurgeResult>(
    q,
    `WITH p AS MATERIALIZED (${purgeable(s)})
     SELECT (SELECT count(*) FROM p)::int AS sessions, ${gone('page_views')} AS "pageViews",
       ${gone('page_metrics')} AS metrics`,
    [before],
  );
  return row ?? { sessions: 0, pageViews: 0, metrics: 0 };
}

/**
 * Retention, inside the caller's transaction. Anonymous sessions started before `before` (no user, not
 * converted, in no conversion) go first, their ids kept in a temporary table; then each day partition of page
 * views and metrics older than `beforeDay` that holds nothing to keep is dropped whole (counted first), and
 * the remaining rows of purged sessions, and aggregate-only rows older than `before`, are deleted. Unique
 * visitor partitions of days before `beforeDay` are dropped. Aggregates and conversions are never touched.
 */
export async function purge(
  q: Queryable,
  schema: string,
  s: string,
  before: number,
  timeZone: string,
): Promise<PurgeResult> {
  const [{ beforeDay }] = (await rowsOf<{ beforeDay: string }>(
    q,
    `SELECT to_char((${ts('$1::float8')} AT TIME ZONE $2::text)::date, 'YYYY-MM-DD') AS "beforeDay"`,
    [before, timeZone],
  )) as [{ beforeDay: string }];

  await q.query('CREATE TEMP TABLE IF NOT EXISTS anon_purged_sessions (id text PRIMARY KEY) ON COMMIT DROP');
  await q.query('TRUNCATE anon_purged_sessions');
  const [deleted] = await rowsOf<{ sessions: number }>(
    q,
    `WITH d AS (DELETE FROM ${s}.sessions WHERE id IN (${purgeable(s)}) RETURNING id), kept AS (INSERT INTO anon_purged_sessions SELECT id FROM d RETURNING 1)
     SELECT count(*)::int AS sessions FROM kept`,
    [before],
  );

  // A row must stay if it belongs to a session that was not purged, or is aggregate-only and too recent.
  const keeps = (alias: string) =>
    `(${alias}.session_id IS NULL AND ${alias}.at >= ${ts('$1::float8')})
     OR (${alias}.session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM anon_purged_sessions x WHERE x.id = ${alias}.session_id))`;

  const removed = { page_views: 0, page_metrics: 0 };
  for (const table of ['page_views', 'page_metrics'] as const) {
    for (const day of await partitionDays(q, schema, table, beforeDay)) {
      const part = `${s}.${partitionName(table, day)}`;
      const [state] = await rowsOf<{ keep: boolean; rows: number }>(
        q,
        `SELECT EXISTS (SELECT 1 FROM ${part} r WHERE ${keeps('r')}) AS keep,
           (SELECT count(*) FROM ${part})::int AS rows`,
        [before],
      );
      if (state && !state.keep) {
        await q.query(`DROP TABLE ${part}`);
        removed[table] += state.rows;
      }
    }
    const [row] = await rowsOf<{ n: number }>(
      q,
      `WITH d AS (
         DELETE FROM ${s}.${table} r
         WHERE r.session_id IN (SELECT id FROM anon_purged_sessions)
            OR (r.session_id IS NULL AND r.at < ${ts('$1::float8')})
         RETURNING 1
       ) SELECT count(*)::int AS n FROM d`,
      [before],
    );
    removed[table] += row?.n ?? 0;
  }

  for (const day of await partitionDays(q, schema, 'page_visitors', beforeDay)) {
    await q.query(`DROP TABLE ${s}.${partitionName('page_visitors', day)}`);
  }
  await q.query(`DELETE FROM ${s}.page_visitors WHERE day < $1::date`, [beforeDay]);

  return {
    sessions: deleted?.sessions ?? 0,
    pageViews: removed.page_views,
    metrics: removed.page_metrics,
  };
}
