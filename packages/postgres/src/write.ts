import type {
  AnonEvent,
  Conversion,
  EventBatch,
  PageMetric,
  PageView,
  Session,
  Touch,
  WriteResult,
} from '@anon/core';
import { mergeSession, sessionChanged } from '@anon/core/adapter';
import { type Queryable, rowsOf } from './client.js';
import { SESSION_SELECT } from './rows.js';
import { Params, text, ts, type UnnestColumn, unnestFrom } from './sql.js';

const SOURCE_KEYS = [
  'referrer',
  'referrerHost',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmTerm',
  'utmContent',
] as const;
const SOURCE_COLUMNS = [
  'referrer',
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
];

function sourceColumns<T extends PageView | Session>(): UnnestColumn<T>[] {
  return SOURCE_KEYS.map((key, i) => ({
    name: SOURCE_COLUMNS[i]!,
    type: 'text',
    value: (r: T) => text(r[key]),
  }));
}

function deviceColumns<T extends PageView | Session>(): UnnestColumn<T>[] {
  return [
    { name: 'device', type: 'text', value: (r) => text(r.device) },
    { name: 'browser', type: 'text', value: (r) => text(r.browser) },
    { name: 'os', type: 'text', value: (r) => text(r.os) },
    { name: 'country', type: 'text', value: (r) => text(r.country) },
    { name: 'city', type: 'text', value: (r) => text(r.city) },
  ];
}

const VIEW_COLUMNS: UnnestColumn<PageView>[] = [
  { name: 'day', type: 'date', value: (v) => v.day },
  { name: 'id', type: 'text', value: (v) => text(v.id) },
  { name: 'session_id', type: 'text', value: (v) => text(v.sessionId) },
  { name: 'visitor_key', type: 'text', value: (v) => text(v.visitorKey) },
  { name: 'user_id', type: 'text', value: (v) => text(v.userId) },
  { name: 'authenticated', type: 'bool', value: (v) => v.authenticated === true },
  { name: 'at', type: 'float8', value: (v) => v.at },
  { name: 'seq', type: 'int4', value: (v) => v.seq },
  { name: 'path', type: 'text', value: (v) => text(v.path) },
  { name: 'url', type: 'text', value: (v) => text(v.url) ?? text(v.path) },
  { name: 'page_type', type: 'text', value: (v) => text(v.pageType) },
  { name: 'scope', type: 'text', value: (v) => text(v.scope) },
  ...sourceColumns<PageView>(),
  ...deviceColumns<PageView>(),
  { name: 'ip', type: 'text', value: (v) => text(v.ip) },
  { name: 'is_bot', type: 'bool', value: (v) => v.isBot === true },
  // One text per row (reasons are fixed words without commas): unnest cannot take a ragged text[][].
  { name: 'bot_reasons', type: 'text', value: (v) => (v.botReasons ?? []).map((r) => text(r)).join(',') },
];

const METRIC_COLUMNS: UnnestColumn<PageMetric>[] = [
  { name: 'day', type: 'date', value: (m) => m.day },
  { name: 'view_id', type: 'text', value: (m) => text(m.viewId) },
  { name: 'metric', type: 'text', value: (m) => text(m.metric) },
  { name: 'value', type: 'float8', value: (m) => m.value },
  { name: 'session_id', type: 'text', value: (m) => text(m.sessionId) },
  { name: 'at', type: 'float8', value: (m) => m.at },
  { name: 'path', type: 'text', value: (m) => text(m.path) },
  { name: 'is_bot', type: 'bool', value: (m) => m.isBot === true },
];

const SESSION_COLUMNS: UnnestColumn<Session>[] = [
  { name: 'id', type: 'text', value: (s) => text(s.id) },
  { name: 'visitor_key', type: 'text', value: (s) => text(s.visitorKey) },
  { name: 'user_id', type: 'text', value: (s) => text(s.userId) },
  { name: 'day', type: 'date', value: (s) => s.day },
  { name: 'started_at', type: 'float8', value: (s) => s.startedAt },
  { name: 'last_seen_at', type: 'float8', value: (s) => s.lastSeenAt },
  { name: 'ended_at', type: 'float8', value: (s) => s.endedAt },
  { name: 'duration_ms', type: 'float8', value: (s) => s.durationMs },
  { name: 'page_views', type: 'int4', value: (s) => s.pageViews },
  { name: 'landing_path', type: 'text', value: (s) => text(s.landingPath) },
  { name: 'exit_path', type: 'text', value: (s) => text(s.exitPath) },
  ...sourceColumns<Session>(),
  ...deviceColumns<Session>(),
  { name: 'is_bot', type: 'bool', value: (s) => s.isBot === true },
  { name: 'converted_user_id', type: 'text', value: (s) => text(s.convertedUserId) },
  { name: 'converted_at', type: 'float8', value: (s) => s.convertedAt },
];

const TIME_COLUMNS = new Set(['at', 'started_at', 'last_seen_at', 'ended_at', 'converted_at']);

function selectList<T>(columns: UnnestColumn<T>[], overrides: Record<string, string> = {}): string {
  return columns
    .map((c) => overrides[c.name] ?? (TIME_COLUMNS.has(c.name) ? ts(`u.${c.name}`) : `u.${c.name}`))
    .join(', ');
}

interface Split {
  views: PageView[];
  metrics: PageMetric[];
  sessions: Session[];
  conversions: Conversion[];
}

function split(events: AnonEvent[]): Split {
  const out: Split = { views: [], metrics: [], sessions: [], conversions: [] };
  for (const e of events) {
    if (e.type === 'pageview') out.views.push(e.view);
    else if (e.type === 'metric') out.metrics.push(e.metric);
    else if (e.type === 'session') out.sessions.push(e.session);
    else if (e.type === 'conversion') out.conversions.push(e.conversion);
  }
  return out;
}

/** Every day a batch writes to a partitioned table. */
export function batchDays(batch: EventBatch): Set<string> {
  const days = new Set<string>();
  for (const e of batch.events) {
    if (e.type === 'pageview') days.add(e.view.day);
    else if (e.type === 'metric') days.add(e.metric.day);
  }
  return days;
}

/**
 * Page views, metrics, unique visitors and the aggregate increments they cause, in one statement: the
 * increments come from the RETURNING rows of the inserts, so a view or metric that already existed adds
 * nothing. Aggregate rows are upserted in (day, path) order so concurrent batches lock them in one order.
 */
async function writeViewsAndMetrics(q: Queryable, s: string, views: PageView[], metrics: PageMetric[]) {
  const p = new Params();
  const viewNames = VIEW_COLUMNS.map((c) => c.name).join(', ');
  const metricNames = METRIC_COLUMNS.map((c) => c.name).join(', ');
  const sql = `
    WITH v AS (
      INSERT INTO ${s}.page_views (${viewNames})
      SELECT ${selectList(VIEW_COLUMNS, { bot_reasons: `string_to_array(u.bot_reasons, ',')` })}
      FROM ${unnestFrom(VIEW_COLUMNS, views, p)}
      ORDER BY u.day, u.id
      ON CONFLICT (day, id) DO NOTHING
      RETURNING day, path, visitor_key, is_bot, authenticated, device
    ),
    uv AS (
      INSERT INTO ${s}.page_visitors (day, path, visitor_key)
      SELECT DISTINCT day, path, visitor_key FROM v WHERE NOT is_bot AND visitor_key IS NOT NULL
      ORDER BY day, path, visitor_key
      ON CONFLICT DO NOTHING
      RETURNING day, path
    ),
    m AS (
      INSERT INTO ${s}.page_metrics (${metricNames})
      SELECT ${selectList(METRIC_COLUMNS)}
      FROM ${unnestFrom(METRIC_COLUMNS, metrics, p)}
      ORDER BY u.day, u.view_id, u.metric
      ON CONFLICT (day, view_id, metric) DO NOTHING
      RETURNING day, path, metric, value, is_bot
    ),
    inc AS (
      SELECT day, path,
        count(*) FILTER (WHERE NOT is_bot) AS views,
        count(*) FILTER (WHERE NOT is_bot AND authenticated) AS authenticated_views,
        count(*) FILTER (WHERE NOT is_bot AND NOT authenticated) AS anonymous_views,
        0::bigint AS unique_visitors,
        0::float8 AS time_on_page_sum_ms, 0::bigint AS time_on_page_count,
        0::float8 AS scroll_depth_sum, 0::bigint AS scroll_depth_count, 0::float8 AS interactions,
        count(*) FILTER (WHERE NOT is_bot AND device = 'mobile') AS mobile_views,
        count(*) FILTER (WHERE NOT is_bot AND device = 'desktop') AS desktop_views,
        count(*) FILTER (WHERE NOT is_bot AND device = 'tablet') AS tablet_views,
        count(*) FILTER (WHERE is_bot) AS bot_views
      FROM v GROUP BY day, path
      UNION ALL
      SELECT day, path, 0, 0, 0, count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM uv GROUP BY day, path
      UNION ALL
      SELECT day, path, 0, 0, 0, 0,
        coalesce(sum(value) FILTER (WHERE metric = 'time_on_page'), 0),
        count(*) FILTER (WHERE metric = 'time_on_page'),
        coalesce(sum(value) FILTER (WHERE metric = 'scroll_depth'), 0),
        count(*) FILTER (WHERE metric = 'scroll_depth'),
        coalesce(sum(value) FILTER (WHERE metric = 'interactions'), 0),
        0, 0, 0, 0
      FROM m WHERE NOT is_bot GROUP BY day, path
    ),
    agg AS (
      INSERT INTO ${s}.daily_aggregates AS t (day, path, views, authenticated_views, anonymous_views, unique_visitors,
        time_on_page_sum_ms, time_on_page_count, scroll_depth_sum, scroll_depth_count, interactions,
        mobile_views, desktop_views, tablet_views, bot_views)
      SELECT day, path, sum(views), sum(authenticated_views), sum(anonymous_views), sum(unique_visitors),
        sum(time_on_page_sum_ms), sum(time_on_page_count), sum(scroll_depth_sum), sum(scroll_depth_count),
        sum(interactions), sum(mobile_views), sum(desktop_views), sum(tablet_views), sum(bot_views)
      FROM inc GROUP BY day, path ORDER BY day, path
      ON CONFLICT (day, path) DO UPDATE SET
        views = t.views + EXCLUDED.views,
        authenticated_views = t.authenticated_views + EXCLUDED.authenticated_views,
        anonymous_views = t.anonymous_views + EXCLUDED.anonymous_views,
        unique_visitors = t.unique_visitors + EXCLUDED.unique_visitors,
        time_on_page_sum_ms = t.time_on_page_sum_ms + EXCLUDED.time_on_page_sum_ms,
        time_on_page_count = t.time_on_page_count + EXCLUDED.time_on_page_count,
        scroll_depth_sum = t.scroll_depth_sum + EXCLUDED.scroll_depth_sum,
        scroll_depth_count = t.scroll_depth_count + EXCLUDED.scroll_depth_count,
        interactions = t.interactions + EXCLUDED.interactions,
        mobile_views = t.mobile_views + EXCLUDED.mobile_views,
        desktop_views = t.desktop_views + EXCLUDED.desktop_views,
        tablet_views = t.tablet_views + EXCLUDED.tablet_views,
        bot_views = t.bot_views + EXCLUDED.bot_views
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM v)::int AS views, (SELECT count(*) FROM m)::int AS metrics,
      (SELECT count(*) FROM agg)::int AS aggregates`;
  const [row] = await rowsOf<{ views: number; metrics: number }>(q, sql, p.values);
  return (row?.views ?? 0) + (row?.metrics ?? 0);
}

/**
 * Session summaries: the stored rows are locked and read, the batch's writes folded onto them in order with
 * core's `mergeSession` (counting each write that changed something), and the result upserted in one
 * statement whose ON CONFLICT computes the same rule in SQL, so a row another transaction inserted meanwhile
 * still converges. The store contract ties both to `mergeSession` on random summaries. Rows are locked in id order, so concurrent batches never deadlock on each other.
 */
async function writeSessions(q: Queryable, s: string, incoming: Session[]): Promise<number> {
  const ids = [...new Set(incoming.map((x) => text(x.id) as string))].sort();
  const stored = await rowsOf<Session>(
    q,
    `SELECT ${SESSION_SELECT} FROM ${s}.sessions s WHERE s.id = ANY($1::text[]) ORDER BY s.id FOR UPDATE`,
    [ids],
  );
  const current = new Map<string, Session>(stored.map((row) => [row.id, row]));
  const dirty = new Set<string>();
  let written = 0;
  for (const raw of incoming) {
    const next = { ...raw, id: text(raw.id) as string };
    const before = current.get(next.id);
    const after = mergeSession(before ?? null, next);
    if (!before || sessionChanged(before, after)) {
      written++;
      dirty.add(after.id);
      current.set(after.id, after);
    }
  }
  if (dirty.size === 0) return 0;
  const rows = [...dirty].sort().map((id) => current.get(id)!);
  const p = new Params();
  const names = SESSION_COLUMNS.map((c) => c.name).join(', ');
  await q.query(
    `INSERT INTO ${s}.sessions AS t (${names})
     SELECT ${selectList(SESSION_COLUMNS, { duration_ms: 'round(u.duration_ms)::bigint' })}
     FROM ${unnestFrom(SESSION_COLUMNS, rows, p)}
     ON CONFLICT (id) DO UPDATE SET
       started_at = LEAST(t.started_at, EXCLUDED.started_at),
       last_seen_at = GREATEST(t.last_seen_at, EXCLUDED.last_seen_at),
       ended_at = GREATEST(t.ended_at, EXCLUDED.ended_at),
       page_views = GREATEST(t.page_views, EXCLUDED.page_views),
       exit_path = CASE WHEN (EXCLUDED.last_seen_at, EXCLUDED.page_views) > (t.last_seen_at, t.page_views)
         THEN EXCLUDED.exit_path ELSE t.exit_path END,
       user_id = COALESCE(t.user_id, EXCLUDED.user_id),
       is_bot = t.is_bot OR EXCLUDED.is_bot,
       converted_user_id = COALESCE(t.converted_user_id, EXCLUDED.converted_user_id),
       converted_at = CASE WHEN t.converted_user_id IS NOT NULL THEN t.converted_at ELSE EXCLUDED.converted_at END,
       duration_ms = round(extract(epoch from
         GREATEST(t.last_seen_at, EXCLUDED.last_seen_at) - LEAST(t.started_at, EXCLUDED.started_at)) * 1000)::bigint`,
    p.values,
  );
  return written;
}

function touchJson(t: Touch | null) {
  if (!t) return { session_id: null };
  return {
    session_id: text(t.sessionId),
    landing_path: text(t.landingPath),
    started_at: t.startedAt,
    referrer: text(t.referrer),
    referrer_host: text(t.referrerHost),
    utm_source: text(t.utmSource),
    utm_medium: text(t.utmMedium),
    utm_campaign: text(t.utmCampaign),
    utm_term: text(t.utmTerm),
    utm_content: text(t.utmContent),
  };
}

const TOUCH_FIELDS = [
  'session_id',
  'landing_path',
  'started_at',
  'referrer',
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
];

/**
 * Conversions inserted if new (one JSON parameter: each carries a list of session ids and two touches),
 * then the best-effort link of their sessions, which runs after the batch's session upsert.
 */
async function writeConversions(q: Queryable, s: string, conversions: Conversion[]): Promise<number> {
  const payload = conversions.map((c) => ({
    id: text(c.id),
    user_id: text(c.userId),
    kind: text(c.kind),
    at: c.at,
    day: c.day,
    session_ids: (c.sessionIds ?? []).map((id) => text(id)),
    pages_before: c.pagesBefore,
    ms_before: c.msBefore,
    first: touchJson(c.firstTouch),
    last: touchJson(c.lastTouch),
  }));
  const touchCols = (prefix: string) => TOUCH_FIELDS.map((f) => `${prefix}_${f}`).join(', ');
  const touchSelect = (key: string) =>
    TOUCH_FIELDS.map((f) =>
      f === 'started_at' ? ts(`(x.${key}->>'${f}')::float8`) : `x.${key}->>'${f}'`,
    ).join(', ');
  const rows = await rowsOf<{ inserted: number }>(
    q,
    `WITH ins AS (
       INSERT INTO ${s}.conversions (id, user_id, kind, at, day, session_ids, pages_before, ms_before,
         ${touchCols('first')}, ${touchCols('last')})
       SELECT x.id, x.user_id, x.kind, ${ts('x.at')}, x.day,
         ARRAY(SELECT jsonb_array_elements_text(x.session_ids)), x.pages_before, round(x.ms_before)::bigint,
         ${touchSelect('first')}, ${touchSelect('last')}
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, user_id text, kind text, at float8, day date,
         session_ids jsonb, pages_before int, ms_before float8, first jsonb, last jsonb)
       ORDER BY x.id
       ON CONFLICT (id) DO NOTHING
       RETURNING id, user_id, at, session_ids
     ),
     link AS (
       UPDATE ${s}.sessions AS t SET converted_user_id = ins.user_id, converted_at = ins.at
       FROM ins WHERE t.id = ANY(ins.session_ids) AND t.converted_user_id IS NULL
       RETURNING t.id
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM link)::int AS linked`,
    [JSON.stringify(payload)],
  );
  return rows[0]?.inserted ?? 0;
}

/**
 * Apply one batch inside the caller's transaction: the ledger row first (a replay stops there), then views
 * and metrics with their aggregates, sessions, conversions.
 */
export async function writeBatch(q: Queryable, s: string, batch: EventBatch): Promise<WriteResult> {
  const ledger = await rowsOf(
    q,
    `INSERT INTO ${s}.batches (id, events) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [text(batch.id), batch.events.length],
  );
  if (ledger.length === 0) return { applied: false, written: 0 };

  const { views, metrics, sessions, conversions } = split(batch.events);
  let written = 0;
  if (views.length > 0 || metrics.length > 0) written += await writeViewsAndMetrics(q, s, views, metrics);
  if (sessions.length > 0) written += await writeSessions(q, s, sessions);
  if (conversions.length > 0) written += await writeConversions(q, s, conversions);
  return { applied: true, written };
}
