import type { DailyAggregate, Session } from '@anon/core';
import type { PostgresClient } from '../src/index.js';

/** Raw reads of the database that bypass the store's code (the contract suite's `StoreProbe`). */
export interface StoreProbe {
  pageViewIds(): Promise<string[]>;
  metricIds(): Promise<string[]>;
  session(id: string): Promise<Session | null>;
  aggregates(): Promise<DailyAggregate[]>;
  conversionIds(): Promise<string[]>;
  /** Ids of the page views flagged bot, and `viewId:metric` of the metrics flagged bot. */
  botRowIds(): Promise<{ pageViews: string[]; metrics: string[] }>;
  /** Tables of the schema with a row whose text form contains `text` (the erasure check). */
  tablesHolding(text: string): Promise<string[]>;
  /** Any SQL, for the tests' own checks. */
  rows<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Days that have a `page_views` partition, sorted. */
  partitionDays(table?: string): Promise<string[]>;
}

const epoch = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/** Probe of `schema` written independently of the store's own SQL. */
export function storeProbe(client: PostgresClient, schema: string): StoreProbe {
  const s = `"${schema}"`;
  const rows = async <R>(sql: string, params: unknown[] = []) =>
    (await client.query(sql, params)).rows as R[];
  const num = (v: unknown) => Number(v);
  return {
    rows,
    async pageViewIds() {
      return (await rows<{ id: string }>(`SELECT id FROM ${s}.page_views ORDER BY id`)).map((r) => r.id);
    },
    async metricIds() {
      const list = await rows<{ id: string }>(
        `SELECT view_id || ':' || metric AS id FROM ${s}.page_metrics ORDER BY 1`,
      );
      return list.map((r) => r.id);
    },
    async conversionIds() {
      return (await rows<{ id: string }>(`SELECT id FROM ${s}.conversions ORDER BY id`)).map((r) => r.id);
    },
    async session(id) {
      const [r] = await rows<Record<string, unknown>>(
        `SELECT *, to_char(day, 'YYYY-MM-DD') AS day_text, ${epoch('started_at')} AS started_ms,
           ${epoch('last_seen_at')} AS last_seen_ms, ${epoch('ended_at')} AS ended_ms,
           ${epoch('converted_at')} AS converted_ms
         FROM ${s}.sessions WHERE id = $1`,
        [id],
      );
      if (!r) return null;
      return {
        id: r.id as string,
        visitorKey: r.visitor_key as string,
        userId: (r.user_id as string | null) ?? null,
        startedAt: num(r.started_ms),
        day: r.day_text as string,
        lastSeenAt: num(r.last_seen_ms),
        endedAt: r.ended_ms === null ? null : num(r.ended_ms),
        durationMs: num(r.duration_ms),
        pageViews: num(r.page_views),
        landingPath: r.landing_path as string,
        exitPath: r.exit_path as string,
        referrer: r.referrer as string | null,
        referrerHost: r.referrer_host as string | null,
        utmSource: r.utm_source as string | null,
        utmMedium: r.utm_medium as string | null,
        utmCampaign: r.utm_campaign as string | null,
        utmTerm: r.utm_term as string | null,
        utmContent: r.utm_content as string | null,
        device: r.device as Session['device'],
        browser: r.browser as string | null,
        os: r.os as string | null,
        country: r.country as string | null,
        city: r.city as string | null,
        isBot: r.is_bot as boolean,
        convertedUserId: (r.converted_user_id as string | null) ?? null,
        convertedAt: r.converted_ms === null ? null : num(r.converted_ms),
      };
    },
    async aggregates() {
      const list = await rows<Record<string, unknown>>(
        `SELECT *, to_char(day, 'YYYY-MM-DD') AS day_text FROM ${s}.daily_aggregates ORDER BY day, path COLLATE "C"`,
      );
      return list.map((r) => ({
        day: r.day_text as string,
        path: r.path as string,
        views: num(r.views),
        authenticatedViews: num(r.authenticated_views),
        anonymousViews: num(r.anonymous_views),
        uniqueVisitors: num(r.unique_visitors),
        timeOnPageSumMs: num(r.time_on_page_sum_ms),
        timeOnPageCount: num(r.time_on_page_count),
        scrollDepthSum: num(r.scroll_depth_sum),
        scrollDepthCount: num(r.scroll_depth_count),
        interactions: num(r.interactions),
        mobileViews: num(r.mobile_views),
        desktopViews: num(r.desktop_views),
        tabletViews: num(r.tablet_views),
        botViews: num(r.bot_views),
        botAuthenticatedViews: num(r.bot_authenticated_views),
      }));
    },
    async botRowIds() {
      const pageViews = await rows<{ id: string }>(`SELECT id FROM ${s}.page_views WHERE is_bot ORDER BY id`);
      const metrics = await rows<{ id: string }>(
        `SELECT view_id || ':' || metric AS id FROM ${s}.page_metrics WHERE is_bot ORDER BY 1`,
      );
      return { pageViews: pageViews.map((r) => r.id), metrics: metrics.map((r) => r.id) };
    },
    async tablesHolding(text) {
      // Every table the schema holds, partitions included; a row's text form carries every column.
      const tables = await rows<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
        [schema],
      );
      const found: string[] = [];
      for (const { name } of tables) {
        const [hit] = await rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${s}."${name}" r WHERE strpos(r::text, $1) > 0`,
          [text],
        );
        if ((hit?.n ?? 0) > 0) found.push(name);
      }
      return found;
    },
    async partitionDays(table = 'page_views') {
      const list = await rows<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
         WHERE n.nspname = $1 AND p.relname = $2`,
        [schema, table],
      );
      return list
        .map((r) => /_p(\d{4})(\d{2})(\d{2})$/.exec(r.name))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
        .sort();
    },
  };
}
