import type { Migration } from './index.js';

const source = (prefix: string) => `
  ${prefix}referrer text,
  ${prefix}referrer_host text,
  ${prefix}utm_source text,
  ${prefix}utm_medium text,
  ${prefix}utm_campaign text,
  ${prefix}utm_term text,
  ${prefix}utm_content text`;

const touch = (prefix: string) => `
  ${prefix}session_id text,
  ${prefix}landing_path text,
  ${prefix}started_at timestamptz,${source(prefix)}`;

/** Tables, indexes and partitioned parents of the first schema version. `s` is the quoted schema name. */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  statements: (s) => [
    `CREATE TABLE ${s}.batches (
      id text PRIMARY KEY,
      events integer NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,

    `CREATE TABLE ${s}.sessions (
      id text PRIMARY KEY,
      visitor_key text NOT NULL,
      user_id text,
      day date NOT NULL,
      started_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      ended_at timestamptz,
      duration_ms bigint NOT NULL,
      page_views integer NOT NULL,
      landing_path text NOT NULL,
      exit_path text NOT NULL,${source('')},
      device text NOT NULL,
      browser text,
      os text,
      country text,
      city text,
      is_bot boolean NOT NULL,
      is_active boolean GENERATED ALWAYS AS (ended_at IS NULL) STORED,
      converted_user_id text,
      converted_at timestamptz
    )`,
    `CREATE INDEX sessions_day_idx ON ${s}.sessions (day)`,
    `CREATE INDEX sessions_visitor_idx ON ${s}.sessions (visitor_key, started_at)`,
    `CREATE INDEX sessions_user_idx ON ${s}.sessions (user_id) WHERE user_id IS NOT NULL`,
    `CREATE INDEX sessions_purge_idx ON ${s}.sessions (started_at) WHERE user_id IS NULL AND converted_user_id IS NULL`,

    `CREATE TABLE ${s}.page_views (
      day date NOT NULL,
      id text NOT NULL,
      session_id text,
      visitor_key text,
      user_id text,
      authenticated boolean NOT NULL,
      at timestamptz NOT NULL,
      seq integer NOT NULL,
      path text NOT NULL,
      url text NOT NULL,
      page_type text,
      scope text,${source('')},
      device text NOT NULL,
      browser text,
      os text,
      country text,
      city text,
      ip text,
      is_bot boolean NOT NULL,
      bot_reasons text[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (day, id)
    ) PARTITION BY RANGE (day)`,
    `CREATE INDEX page_views_session_idx ON ${s}.page_views (session_id, seq)`,
    `CREATE INDEX page_views_user_idx ON ${s}.page_views (user_id) WHERE user_id IS NOT NULL`,

    `CREATE TABLE ${s}.page_metrics (
      day date NOT NULL,
      view_id text NOT NULL,
      metric text NOT NULL,
      value double precision NOT NULL,
      session_id text,
      at timestamptz NOT NULL,
      path text NOT NULL,
      is_bot boolean NOT NULL,
      PRIMARY KEY (day, view_id, metric)
    ) PARTITION BY RANGE (day)`,
    `CREATE INDEX page_metrics_session_idx ON ${s}.page_metrics (session_id)`,

    `CREATE TABLE ${s}.page_visitors (
      day date NOT NULL,
      path text NOT NULL,
      visitor_key text NOT NULL,
      PRIMARY KEY (day, path, visitor_key)
    ) PARTITION BY RANGE (day)`,

    `CREATE TABLE ${s}.daily_aggregates (
      day date NOT NULL,
      path text NOT NULL,
      views bigint NOT NULL DEFAULT 0,
      authenticated_views bigint NOT NULL DEFAULT 0,
      anonymous_views bigint NOT NULL DEFAULT 0,
      unique_visitors bigint NOT NULL DEFAULT 0,
      time_on_page_sum_ms double precision NOT NULL DEFAULT 0,
      time_on_page_count bigint NOT NULL DEFAULT 0,
      scroll_depth_sum double precision NOT NULL DEFAULT 0,
      scroll_depth_count bigint NOT NULL DEFAULT 0,
      interactions double precision NOT NULL DEFAULT 0,
      mobile_views bigint NOT NULL DEFAULT 0,
      desktop_views bigint NOT NULL DEFAULT 0,
      tablet_views bigint NOT NULL DEFAULT 0,
      bot_views bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (day, path)
    )`,
    `CREATE INDEX daily_aggregates_path_idx ON ${s}.daily_aggregates (path, day)`,

    `CREATE TABLE ${s}.conversions (
      id text PRIMARY KEY,
      user_id text NOT NULL,
      kind text NOT NULL,
      at timestamptz NOT NULL,
      day date NOT NULL,
      session_ids text[] NOT NULL,
      pages_before integer NOT NULL,
      ms_before bigint,${touch('first_')},${touch('last_')}
    )`,
    `CREATE INDEX conversions_day_idx ON ${s}.conversions (day, at)`,
    `CREATE INDEX conversions_user_idx ON ${s}.conversions (user_id)`,
    `CREATE INDEX conversions_sessions_idx ON ${s}.conversions USING gin (session_ids)`,
  ],
};
