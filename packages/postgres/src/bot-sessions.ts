import type { BotSession } from '@anon/core';
import {
  AGGREGATE_COLUMNS,
  type AggregateColumn,
  METRIC_INCREMENTS,
  SUMMED,
  VISITOR_INCREMENTS,
} from './aggregate-sql.js';
import { type Queryable, rowsOf } from './client.js';
import { text, ts } from './sql.js';

/**
 * How a column of an aggregate row (`t`) takes back what the re-flagged rows (`m`, their human counts) added:
 * the human counts go down, and the views come back as bot views.
 */
function moveOf(c: AggregateColumn): string {
  if (c === 'bot_views') return 't.bot_views + m.views';
  if (c === 'bot_authenticated_views') return 't.bot_authenticated_views + m.bot_authenticated_views';
  return `t.${c} - m.${c}`;
}

/**
 * `botsession` events (docs/semantics.md, "Bot sessions"), inside the batch's transaction, which holds the
 * schema's bot-session lock exclusively (`writeBatch`): no page view, metric or summary of any session is being
 * written meanwhile, so what this reads is all there is.
 *
 * First the sessions are recorded in `bot_sessions` (a replayed event finds its row: not counted as written),
 * so every row of them written afterwards is a bot's from its insert. Then, in one statement, whatever of
 * them is stored and not yet a bot moves over: page views get `is_bot` and the reason `rate`, metrics
 * `is_bot`, summaries `is_bot`; each re-flagged view's visitor gives back one human view of its (day, path) in
 * `page_visitors`, and leaves it (and `unique_visitors`) when that was its last; and the aggregates take back
 * what those views and metrics had added as humans. Only rows that were not bots move, so a replay, or rows
 * written after the event, move nothing twice.
 */
export async function flagBotSessions(q: Queryable, s: string, flagged: BotSession[]): Promise<number> {
  const byId = new Map<string, BotSession>();
  for (const b of flagged) {
    const id = text(b.sessionId) as string;
    if (!byId.has(id)) byId.set(id, b);
  }
  const ids = [...byId.keys()].sort();
  const [recorded] = await rowsOf<{ n: number }>(
    q,
    `WITH ins AS (
       INSERT INTO ${s}.bot_sessions (id, day, at)
       SELECT u.id, u.day, ${ts('u.at')} FROM unnest($1::text[], $2::date[], $3::float8[]) AS u(id, day, at)
       ORDER BY u.id
       ON CONFLICT (id) DO NOTHING
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM ins`,
    [ids, ids.map((id) => byId.get(id)!.day), ids.map((id) => byId.get(id)!.at)],
  );
  await q.query(
    `WITH rv AS (
       UPDATE ${s}.page_views pv SET is_bot = true,
         bot_reasons = CASE WHEN 'rate' = ANY(pv.bot_reasons) THEN pv.bot_reasons
           ELSE array_append(pv.bot_reasons, 'rate') END
       WHERE pv.session_id = ANY($1::text[]) AND NOT pv.is_bot
       RETURNING pv.day, pv.path, pv.visitor_key, pv.authenticated, pv.device
     ),
     rm AS (
       UPDATE ${s}.page_metrics m SET is_bot = true
       WHERE m.session_id = ANY($1::text[]) AND NOT m.is_bot
       RETURNING m.day, m.path, m.metric, m.value
     ),
     rs AS (
       UPDATE ${s}.sessions ss SET is_bot = true WHERE ss.id = ANY($1::text[]) AND NOT ss.is_bot RETURNING 1
     ),
     gave AS (
       SELECT day, path, visitor_key, count(*) AS n FROM rv WHERE visitor_key IS NOT NULL
       GROUP BY day, path, visitor_key
     ),
     kept AS (
       UPDATE ${s}.page_visitors u SET views = u.views - g.n FROM gave g
       WHERE u.day = g.day AND u.path = g.path AND u.visitor_key = g.visitor_key AND u.views > g.n
       RETURNING 1
     ),
     gone AS (
       DELETE FROM ${s}.page_visitors u USING gave g
       WHERE u.day = g.day AND u.path = g.path AND u.visitor_key = g.visitor_key AND u.views <= g.n
       RETURNING u.day, u.path
     ),
     dec AS (
       SELECT day, path, count(*) AS views,
         count(*) FILTER (WHERE authenticated) AS authenticated_views,
         count(*) FILTER (WHERE NOT authenticated) AS anonymous_views,
         0::bigint AS unique_visitors,
         0::float8 AS time_on_page_sum_ms, 0::bigint AS time_on_page_count,
         0::float8 AS scroll_depth_sum, 0::bigint AS scroll_depth_count, 0::float8 AS interactions,
         count(*) FILTER (WHERE device = 'mobile') AS mobile_views,
         count(*) FILTER (WHERE device NOT IN ('mobile', 'tablet')) AS desktop_views,
         count(*) FILTER (WHERE device = 'tablet') AS tablet_views,
         0::bigint AS bot_views,
         count(*) FILTER (WHERE authenticated) AS bot_authenticated_views
       FROM rv GROUP BY day, path
       UNION ALL
       SELECT day, path, ${VISITOR_INCREMENTS} FROM gone GROUP BY day, path
       UNION ALL
       SELECT day, path, ${METRIC_INCREMENTS} FROM rm GROUP BY day, path
     ),
     moved AS (SELECT day, path, ${SUMMED} FROM dec GROUP BY day, path),
     agg AS (
       UPDATE ${s}.daily_aggregates t SET ${AGGREGATE_COLUMNS.map((c) => `${c} = ${moveOf(c)}`).join(', ')}
       FROM moved m WHERE t.day = m.day AND t.path = m.path
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM agg) + (SELECT count(*) FROM rs) + (SELECT count(*) FROM kept) AS touched`,
    [ids],
  );
  return recorded?.n ?? 0;
}
