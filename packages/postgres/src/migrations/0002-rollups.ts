import type { Migration } from './index.js';

/**
 * What a purge keeps of the sessions and visitors it removes (docs/semantics.md, "Rollups"), and the daily job
 * claims of automatic retention. `s` is the quoted schema name.
 *
 * `session_rollups` is keyed by `(day, key)`, `key` being a SHA-256 of the other key fields (see
 * `ROLLUP_KEY` in purge.ts): several of them are nullable, and `NULLS NOT DISTINCT` needs PostgreSQL 15 while
 * this package supports 14; two 500-character paths could also outgrow a B-tree entry. Reports group rows by
 * the key columns themselves, never by `key`, so the hash only keeps one row per combination.
 */
export const rollups: Migration = {
  version: 2,
  name: 'rollups',
  statements: (s) => [
    `CREATE TABLE ${s}.session_rollups (
      day date NOT NULL,
      key bytea NOT NULL,
      landing_path text NOT NULL,
      exit_path text NOT NULL,
      is_bot boolean NOT NULL,
      authenticated boolean NOT NULL,
      visitor boolean NOT NULL,
      referrer_host text,
      utm_source text,
      utm_medium text,
      utm_campaign text,
      device text NOT NULL,
      browser text,
      os text,
      country text,
      sessions bigint NOT NULL,
      page_views bigint NOT NULL,
      bounces bigint NOT NULL,
      duration_ms double precision NOT NULL,
      PRIMARY KEY (day, key)
    )`,

    // `path` null is the whole site; the unique index treats it as a value of its own.
    `CREATE TABLE ${s}.visitor_rollups (
      day date NOT NULL,
      path text,
      visitors bigint NOT NULL,
      visitors_with_bots bigint NOT NULL
    )`,
    `CREATE UNIQUE INDEX visitor_rollups_key_idx ON ${s}.visitor_rollups (day, (coalesce(path, '')), (path IS NULL))`,

    `CREATE TABLE ${s}.daily_jobs (
      job text NOT NULL,
      day date NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job, day)
    )`,

    // `purge(before, { authenticatedBefore })` finds the sessions of users by start time.
    `CREATE INDEX sessions_user_purge_idx ON ${s}.sessions (started_at)
      WHERE user_id IS NOT NULL OR converted_user_id IS NOT NULL`,
  ],
};
