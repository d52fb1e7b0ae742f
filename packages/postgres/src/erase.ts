import type { EraseResult } from '@anon/core';
import { type Queryable, rowsOf } from './client.js';

/**
 * Erase one user (`$1`) inside the caller's transaction: their conversion goes first, its named sessions and
 * the sessions carrying the user id (as `user_id` or `converted_user_id`) are collected, then their metrics,
 * page views (and any other page view carrying the user id, with its metrics), the sessions themselves and
 * their bot flags are deleted. Aggregates and unique-visitor entries hold no user id and stay.
 */
export async function eraseUser(q: Queryable, s: string, userId: string): Promise<EraseResult> {
  const [row] = await rowsOf<EraseResult>(
    q,
    `WITH conv AS (DELETE FROM ${s}.conversions WHERE user_id = $1 RETURNING session_ids),
     ids AS (
       SELECT unnest(session_ids) AS id FROM conv
       UNION SELECT id FROM ${s}.sessions WHERE user_id = $1 OR converted_user_id = $1
     ),
     views AS (
       DELETE FROM ${s}.page_views v
       WHERE v.user_id = $1 OR v.session_id IN (SELECT id FROM ids)
       RETURNING v.id
     ),
     metrics AS (
       DELETE FROM ${s}.page_metrics m
       WHERE m.session_id IN (SELECT id FROM ids) OR m.view_id IN (SELECT id FROM views)
       RETURNING 1
     ),
     sessions AS (DELETE FROM ${s}.sessions WHERE id IN (SELECT id FROM ids) RETURNING 1),
     flags AS (DELETE FROM ${s}.bot_sessions WHERE id IN (SELECT id FROM ids) RETURNING 1)
     SELECT (SELECT count(*) FROM sessions)::int AS sessions, (SELECT count(*) FROM views)::int AS "pageViews",
       (SELECT count(*) FROM metrics)::int AS metrics, (SELECT count(*) FROM conv)::int AS conversions`,
    [userId],
  );
  return row ?? { sessions: 0, pageViews: 0, metrics: 0, conversions: 0 };
}
