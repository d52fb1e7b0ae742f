import type { Migration } from './index.js';

/**
 * Bot sessions (docs/semantics.md, "Bot sessions"): the sessions a `botsession` event flagged, so their page
 * views, metrics and summaries written later are bots' from the start, and the split of bot views by login in
 * the aggregates, so `views = authenticatedViews + anonymousViews` holds with bots too, and the human page
 * views behind each unique-visitor row. The new columns are filled from the stored page views that still exist
 * (an older purge may have removed some: a purged authenticated bot view counts as anonymous, as it did
 * before). `s` is the quoted schema name.
 */
export const botSessions: Migration = {
  version: 3,
  name: 'bot-sessions',
  statements: (s) => [
    `CREATE TABLE ${s}.bot_sessions (
      id text PRIMARY KEY,
      day date NOT NULL,
      at timestamptz NOT NULL
    )`,
    `ALTER TABLE ${s}.daily_aggregates ADD COLUMN bot_authenticated_views bigint NOT NULL DEFAULT 0`,
    // How many human page views each counted visitor has on its (day, path): a re-flag that takes the last
    // one away removes the visitor from `unique_visitors`. Existing rows count the stored views.
    `ALTER TABLE ${s}.page_visitors ADD COLUMN views integer NOT NULL DEFAULT 1`,
    `UPDATE ${s}.page_visitors u SET views = c.n
     FROM (SELECT day, path, visitor_key, count(*) AS n FROM ${s}.page_views
       WHERE NOT is_bot AND visitor_key IS NOT NULL GROUP BY day, path, visitor_key HAVING count(*) > 1) c
     WHERE u.day = c.day AND u.path = c.path AND u.visitor_key = c.visitor_key`,
    // A summary is rewritten one or more times after its insert: room on its page keeps the rewrite a HOT
    // update, which touches none of the table's six indexes (pages written from now on).
    `ALTER TABLE ${s}.sessions SET (fillfactor = 70)`,
    `UPDATE ${s}.daily_aggregates a SET bot_authenticated_views = b.n
     FROM (SELECT day, path, count(*) AS n FROM ${s}.page_views WHERE is_bot AND authenticated GROUP BY day, path) b
     WHERE a.day = b.day AND a.path = b.path`,
  ],
};
