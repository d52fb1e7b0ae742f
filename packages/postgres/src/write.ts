import type {
  BotSession,
  Conversion,
  EventBatch,
  PageMetric,
  PageView,
  Session,
  Touch,
  WriteResult,
} from '@anon/core';
import { AGGREGATE_COLUMNS, METRIC_INCREMENTS, SUMMED, VISITOR_INCREMENTS } from './aggregate-sql.js';
import { flagBotSessions } from './bot-sessions.js';
import { type Queryable, rowsOf } from './client.js';
import { Params, text, ts, type UnnestColumn, unnestFrom } from './sql.js';
import {
  copyRows,
  executePrepared,
  forgetStaging,
  prepareStaging,
  type StagedTable,
  type StagingMode,
} from './stage.js';

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
    value: (r: T) => r[key],
  }));
}

function deviceColumns<T extends PageView | Session>(): UnnestColumn<T>[] {
  return [
    { name: 'device', type: 'text', value: (r) => r.device },
    { name: 'browser', type: 'text', value: (r) => r.browser },
    { name: 'os', type: 'text', value: (r) => r.os },
    { name: 'country', type: 'text', value: (r) => r.country },
    { name: 'city', type: 'text', value: (r) => r.city },
  ];
}

const VIEW_COLUMNS: UnnestColumn<PageView>[] = [
  { name: 'day', type: 'date', value: (v) => v.day },
  { name: 'id', type: 'text', value: (v) => v.id },
  { name: 'session_id', type: 'text', value: (v) => v.sessionId },
  { name: 'visitor_key', type: 'text', value: (v) => v.visitorKey },
  { name: 'user_id', type: 'text', value: (v) => v.userId },
  { name: 'authenticated', type: 'bool', value: (v) => v.authenticated === true },
  { name: 'at', type: 'float8', value: (v) => v.at },
  { name: 'seq', type: 'int4', value: (v) => v.seq },
  { name: 'path', type: 'text', value: (v) => v.path },
  { name: 'url', type: 'text', value: (v) => v.url ?? v.path },
  { name: 'page_type', type: 'text', value: (v) => v.pageType },
  { name: 'scope', type: 'text', value: (v) => v.scope },
  ...sourceColumns<PageView>(),
  ...deviceColumns<PageView>(),
  { name: 'ip', type: 'text', value: (v) => v.ip },
  { name: 'is_bot', type: 'bool', value: (v) => v.isBot === true },
  // One text per row (reasons are fixed words without commas): unnest cannot take a ragged text[][].
  { name: 'bot_reasons', type: 'text', value: (v) => (v.botReasons ?? []).join(',') },
];

const METRIC_COLUMNS: UnnestColumn<PageMetric>[] = [
  { name: 'day', type: 'date', value: (m) => m.day },
  { name: 'view_id', type: 'text', value: (m) => m.viewId },
  { name: 'metric', type: 'text', value: (m) => m.metric },
  { name: 'value', type: 'float8', value: (m) => m.value },
  { name: 'session_id', type: 'text', value: (m) => m.sessionId },
  { name: 'at', type: 'float8', value: (m) => m.at },
  { name: 'path', type: 'text', value: (m) => m.path },
  { name: 'is_bot', type: 'bool', value: (m) => m.isBot === true },
];

const SESSION_COLUMNS: UnnestColumn<Session>[] = [
  { name: 'id', type: 'text', value: (s) => s.id },
  { name: 'visitor_key', type: 'text', value: (s) => s.visitorKey },
  { name: 'user_id', type: 'text', value: (s) => s.userId },
  { name: 'day', type: 'date', value: (s) => s.day },
  { name: 'started_at', type: 'float8', value: (s) => s.startedAt },
  { name: 'last_seen_at', type: 'float8', value: (s) => s.lastSeenAt },
  { name: 'ended_at', type: 'float8', value: (s) => s.endedAt },
  { name: 'duration_ms', type: 'float8', value: (s) => s.durationMs },
  { name: 'page_views', type: 'int4', value: (s) => s.pageViews },
  { name: 'landing_path', type: 'text', value: (s) => s.landingPath },
  { name: 'exit_path', type: 'text', value: (s) => s.exitPath },
  ...sourceColumns<Session>(),
  ...deviceColumns<Session>(),
  { name: 'is_bot', type: 'bool', value: (s) => s.isBot === true },
  { name: 'converted_user_id', type: 'text', value: (s) => s.convertedUserId },
  { name: 'converted_at', type: 'float8', value: (s) => s.convertedAt },
];

const TIME_COLUMNS = new Set(['at', 'started_at', 'last_seen_at', 'ended_at', 'converted_at']);

function selectList<T>(columns: UnnestColumn<T>[], overrides: Record<string, string> = {}): string {
  return columns
    .map((c) => overrides[c.name] ?? (TIME_COLUMNS.has(c.name) ? ts(`u.${c.name}`) : `u.${c.name}`))
    .join(', ');
}

/** A session summary with the round of the batch it is written in (its rank among the batch's summaries of it). */
type RoundedSession = [Session, number];

const STAGED_SESSION_COLUMNS: UnnestColumn<RoundedSession>[] = [
  ...SESSION_COLUMNS.map((c) => ({ ...c, value: (r: RoundedSession) => c.value(r[0]) })),
  { name: 'round', type: 'int4', value: (r) => r[1] },
];

/** The staging tables of the `copy` mode, one per kind of row. */
const STAGED = {
  views: { table: 'anon_stage_page_views', columns: VIEW_COLUMNS },
  metrics: { table: 'anon_stage_page_metrics', columns: METRIC_COLUMNS },
  sessions: { table: 'anon_stage_sessions', columns: STAGED_SESSION_COLUMNS },
} satisfies Record<string, StagedTable<never>>;
const STAGING_TABLES = Object.values(STAGED) as StagedTable<never>[];

/** A batch's events by kind, as `writeBatch` writes them. */
export interface BatchParts {
  id: string;
  events: number;
  views: PageView[];
  metrics: PageMetric[];
  sessions: RoundedSession[];
  /** Rounds of session writes: the most summaries of one session in the batch. */
  rounds: number;
  botSessions: BotSession[];
  conversions: Conversion[];
  /** Every day the batch writes to a partitioned table. */
  days: Set<string>;
}

/** Sort a (checked) batch's events by kind, in one pass. */
export function batchParts(batch: EventBatch): BatchParts {
  const out: BatchParts = {
    id: text(batch.id) as string,
    events: batch.events.length,
    views: [],
    metrics: [],
    sessions: [],
    rounds: 0,
    botSessions: [],
    conversions: [],
    days: new Set(),
  };
  let seen: Map<string, number> | null = null;
  for (const e of batch.events) {
    if (e.type === 'pageview') {
      out.views.push(e.view);
      out.days.add(e.view.day);
    } else if (e.type === 'metric') {
      out.metrics.push(e.metric);
      out.days.add(e.metric.day);
    } else if (e.type === 'session') {
      seen ??= new Map();
      const id = text(e.session.id) as string;
      const round = (seen.get(id) ?? 0) + 1;
      seen.set(id, round);
      if (round > out.rounds) out.rounds = round;
      out.sessions.push([e.session, round]);
    } else if (e.type === 'botsession') out.botSessions.push(e.botSession);
    else if (e.type === 'conversion') out.conversions.push(e.conversion);
  }
  return out;
}

/**
 * The upsert of one round of session summaries (at most one per session) from `from`: a new session is stored
 * as it comes (`durationMs` recomputed), a stored one merged in SQL by core's `mergeSession` rule (min start,
 * max last seen / end / page count, the exit path of the write with the later `(last_seen_at, page_views)`,
 * first user id, bot if either says so, the conversion pair from the first write that has one) and updated only
 * when that changes it, so `RETURNING` counts the writes that changed something. A summary of a session in
 * `bot_sessions` is a bot's. Rows are locked in id order, so concurrent batches never deadlock on each other.
 */
function sessionUpsert(s: string, from: string, round: string): string {
  const names = SESSION_COLUMNS.map((c) => c.name).join(', ');
  const merged = {
    started_at: 'LEAST(t.started_at, EXCLUDED.started_at)',
    last_seen_at: 'GREATEST(t.last_seen_at, EXCLUDED.last_seen_at)',
    ended_at: 'GREATEST(t.ended_at, EXCLUDED.ended_at)',
    page_views: 'GREATEST(t.page_views, EXCLUDED.page_views)',
    exit_path: `CASE WHEN (EXCLUDED.last_seen_at, EXCLUDED.page_views) > (t.last_seen_at, t.page_views)
      THEN EXCLUDED.exit_path ELSE t.exit_path END`,
    user_id: 'COALESCE(t.user_id, EXCLUDED.user_id)',
    is_bot: 't.is_bot OR EXCLUDED.is_bot',
    converted_user_id: 'COALESCE(t.converted_user_id, EXCLUDED.converted_user_id)',
    converted_at:
      'CASE WHEN t.converted_user_id IS NOT NULL THEN t.converted_at ELSE EXCLUDED.converted_at END',
  };
  const keys = Object.keys(merged) as (keyof typeof merged)[];
  return `INSERT INTO ${s}.sessions AS t (${names})
    SELECT ${selectList(SESSION_COLUMNS, {
      is_bot: 'u.is_bot OR b.id IS NOT NULL',
      duration_ms: 'round(u.last_seen_at - u.started_at)::bigint',
    })}
    FROM ${from} LEFT JOIN ${s}.bot_sessions b ON b.id = u.id
    WHERE u.round = ${round}
    ORDER BY u.id
    ON CONFLICT (id) DO UPDATE SET
      ${keys.map((k) => `${k} = ${merged[k]}`).join(',\n      ')},
      duration_ms = round(extract(epoch from ${merged.last_seen_at} - ${merged.started_at}) * 1000)::bigint
    WHERE (${keys.map((k) => merged[k]).join(', ')}) IS DISTINCT FROM (${keys.map((k) => `t.${k}`).join(', ')})
    RETURNING 1`;
}

/**
 * Page views, metrics, unique visitors, the aggregate increments they cause and the first round of session
 * summaries, in one statement. The increments come from the RETURNING rows of the inserts, so a view or metric
 * that already existed adds nothing: they are summed per `(day, path)` in SQL (one upsert per row of the batch)
 * and per `(day, path, visitor)` for `page_visitors`. Aggregate rows are upserted in (day, path) order so
 * concurrent batches lock them in one order. A view or metric of a session in `bot_sessions` is a bot's.
 */
function rowsStatement(s: string, from: { views: string; metrics: string; sessions: string | null }): string {
  const viewNames = VIEW_COLUMNS.map((c) => c.name).join(', ');
  const metricNames = METRIC_COLUMNS.map((c) => c.name).join(', ');
  return `
    WITH v AS (
      INSERT INTO ${s}.page_views (${viewNames})
      SELECT ${selectList(VIEW_COLUMNS, {
        is_bot: 'u.is_bot OR b.id IS NOT NULL',
        bot_reasons: `CASE WHEN b.id IS NULL OR u.is_bot OR 'rate' = ANY(string_to_array(u.bot_reasons, ','))
          THEN string_to_array(u.bot_reasons, ',') ELSE array_append(string_to_array(u.bot_reasons, ','), 'rate') END`,
      })}
      FROM ${from.views}
      LEFT JOIN ${s}.bot_sessions b ON b.id = u.session_id
      ORDER BY u.day, u.id
      ON CONFLICT (day, id) DO NOTHING
      RETURNING day, path, visitor_key, is_bot, authenticated, device
    ),
    vk AS (
      SELECT day, path, visitor_key, count(*)::int AS n FROM v WHERE NOT is_bot AND visitor_key IS NOT NULL
      GROUP BY day, path, visitor_key
    ),
    uv AS (
      INSERT INTO ${s}.page_visitors AS t (day, path, visitor_key, views)
      SELECT day, path, visitor_key, n FROM vk ORDER BY day, path, visitor_key
      ON CONFLICT (day, path, visitor_key) DO UPDATE SET views = t.views + EXCLUDED.views
      RETURNING day, path, visitor_key, views
    ),
    nv AS (
      -- A row holding just this batch's views is new: its visitor is new to (day, path).
      SELECT uv.day, uv.path FROM uv JOIN vk USING (day, path, visitor_key) WHERE uv.views = vk.n
    ),
    m AS (
      INSERT INTO ${s}.page_metrics (${metricNames})
      SELECT ${selectList(METRIC_COLUMNS, { is_bot: 'u.is_bot OR b.id IS NOT NULL' })}
      FROM ${from.metrics}
      LEFT JOIN ${s}.bot_sessions b ON b.id = u.session_id
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
        count(*) FILTER (WHERE NOT is_bot AND device NOT IN ('mobile', 'tablet')) AS desktop_views,
        count(*) FILTER (WHERE NOT is_bot AND device = 'tablet') AS tablet_views,
        count(*) FILTER (WHERE is_bot) AS bot_views,
        count(*) FILTER (WHERE is_bot AND authenticated) AS bot_authenticated_views
      FROM v GROUP BY day, path
      UNION ALL
      SELECT day, path, ${VISITOR_INCREMENTS} FROM nv GROUP BY day, path
      UNION ALL
      SELECT day, path, ${METRIC_INCREMENTS} FROM m WHERE NOT is_bot GROUP BY day, path
    ),
    agg AS (
      INSERT INTO ${s}.daily_aggregates AS t (day, path, ${AGGREGATE_COLUMNS.join(', ')})
      SELECT day, path, ${SUMMED} FROM inc GROUP BY day, path ORDER BY day, path
      ON CONFLICT (day, path) DO UPDATE SET
        ${AGGREGATE_COLUMNS.map((c) => `${c} = t.${c} + EXCLUDED.${c}`).join(', ')}
      RETURNING 1
    )${from.sessions === null ? '' : `,\n    ss AS (${sessionUpsert(s, from.sessions, '1')})`}
    SELECT (SELECT count(*) FROM v)::int AS views, (SELECT count(*) FROM m)::int AS metrics,
      ${from.sessions === null ? '0' : '(SELECT count(*) FROM ss)::int'} AS sessions,
      (SELECT count(*) FROM agg)::int AS aggregates`;
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

/** How a store writes: the staging mode, and whether the client is PGlite (its COPY reads a blob). */
export interface WriteOptions {
  staging: StagingMode;
  pglite: boolean;
  /** The schema's bot-session lock keys. */
  botLock: [number, number];
  /** Names this schema's prepared statements on a connection (`anon_rows_<key>`). */
  statementKey: string;
}

interface Counts {
  views: number;
  metrics: number;
  sessions: number;
}

/**
 * Apply one batch inside the caller's transaction, on `connection` (the pool's client or the PGlite instance,
 * which owns the staging tables): the ledger row first (a replay stops there), then the sessions it flags as
 * bots, then its rows — staged by COPY or bound as arrays — in one statement with their aggregates and the
 * first round of session summaries, then further rounds (a session with several summaries in the batch) and
 * conversions.
 */
export async function writeBatch(
  q: Queryable,
  connection: object,
  s: string,
  batch: BatchParts,
  options: WriteOptions,
): Promise<WriteResult> {
  const { views, metrics, sessions, rounds, botSessions, conversions } = batch;
  // The schema's bot-session lock, taken before any statement reads: shared by every batch, exclusive for a
  // batch that flags sessions, so a flag never runs beside the writes of rows it must see (or that must see it).
  const lock = botSessions.length > 0 ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared';
  const ledger = await rowsOf(
    q,
    `INSERT INTO ${s}.batches (id, events)
     SELECT $1, $2 FROM (SELECT ${lock}($3::int, $4::int)) AS l
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [batch.id, batch.events, ...options.botLock],
  );
  if (ledger.length === 0) return { applied: false, written: 0 };

  let written = 0;
  if (botSessions.length > 0) written += await flagBotSessions(q, s, botSessions);
  if (views.length > 0 || metrics.length > 0 || sessions.length > 0) {
    try {
      if (options.staging === 'copy') {
        await prepareStaging(q, connection, STAGING_TABLES);
        await copyRows(q, options.pglite, STAGED.views, views);
        await copyRows(q, options.pglite, STAGED.metrics, metrics);
        await copyRows(q, options.pglite, STAGED.sessions, sessions);
        const from = (t: StagedTable<never>) => `${t.table} AS u`;
        const [row] = await executePrepared<Counts>(q, connection, `anon_rows_${options.statementKey}`, () =>
          rowsStatement(s, {
            views: from(STAGED.views),
            metrics: from(STAGED.metrics),
            sessions: from(STAGED.sessions),
          }),
        );
        written += (row?.views ?? 0) + (row?.metrics ?? 0) + (row?.sessions ?? 0);
        for (let round = 2; round <= rounds; round++) {
          const sql = () => sessionUpsert(s, from(STAGED.sessions), '$1');
          const name = `anon_sessions_${options.statementKey}`;
          written += (await executePrepared(q, connection, name, sql, ['int4'], [round])).length;
        }
      } else {
        const p = new Params();
        const [row] = await rowsOf<Counts>(
          q,
          rowsStatement(s, {
            views: unnestFrom(VIEW_COLUMNS, views, p),
            metrics: unnestFrom(METRIC_COLUMNS, metrics, p),
            sessions: sessions.length > 0 ? unnestFrom(STAGED_SESSION_COLUMNS, sessions, p) : null,
          }),
          p.values,
        );
        written += (row?.views ?? 0) + (row?.metrics ?? 0) + (row?.sessions ?? 0);
        for (let round = 2; round <= rounds; round++) {
          const rp = new Params();
          const from = unnestFrom(STAGED_SESSION_COLUMNS, sessions, rp);
          written += (await rowsOf(q, sessionUpsert(s, from, rp.add(round, 'int4')), rp.values)).length;
        }
      }
    } catch (err) {
      forgetStaging(connection);
      throw err;
    }
  }
  if (conversions.length > 0) written += await writeConversions(q, s, conversions);
  return { applied: true, written };
}
