import type {
  BotsReport,
  CampaignRow,
  ConversionsReport,
  CountryRow,
  DailyAggregate,
  DevicesReport,
  EntryPageRow,
  ExitPageRow,
  FunnelStepRow,
  JourneyRow,
  OverviewReport,
  ReferrerRow,
  SessionsReport,
  TopPageRow,
} from '@anon/core';
import {
  buildOverview,
  type CheckedQuery,
  type SessionDayFigures,
  type ViewDayFigures,
} from '@anon/core/adapter';
import { type Queryable, rowsOf } from './client.js';
import { aggregateWhere, liveSessionsWith, sessionWhere } from './report-query.js';
import { AGGREGATE_SELECT, CONVERSION_SELECT, toConversion } from './rows.js';
import { Params, pathCondition } from './sql.js';

// Ties are broken by the key in code-point order (COLLATE "C" compares UTF-8 bytes), nulls first.
const key = (column: string) => `${column} COLLATE "C" ASC NULLS FIRST`;

/** Every report of docs/semantics.md as SQL over one schema. */
export class Reports {
  readonly #s: string;

  constructor(quotedSchema: string) {
    this.#s = quotedSchema;
  }

  async topPages(db: Queryable, q: CheckedQuery): Promise<TopPageRow[]> {
    const p = new Params();
    const views = q.includeBots ? 'a.views + a.bot_views' : 'a.views';
    return rowsOf<TopPageRow>(
      db,
      `SELECT a.path, sum(${views})::float8 AS views, sum(a.unique_visitors)::float8 AS "uniqueVisitors",
         sum(a.authenticated_views)::float8 AS "authenticatedViews", sum(a.anonymous_views)::float8 AS "anonymousViews",
         CASE WHEN sum(a.time_on_page_count) > 0
           THEN sum(a.time_on_page_sum_ms)::float8 / sum(a.time_on_page_count)::float8 END AS "avgTimeOnPageMs",
         CASE WHEN sum(a.scroll_depth_count) > 0
           THEN sum(a.scroll_depth_sum)::float8 / sum(a.scroll_depth_count)::float8 END AS "avgScrollDepth"
       FROM ${this.#s}.daily_aggregates a
       WHERE ${aggregateWhere(q, p)}
       GROUP BY a.path
       HAVING sum(${views}) > 0
       ORDER BY 2 DESC, ${key('a.path')}
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  async sessions(db: Queryable, q: CheckedQuery): Promise<SessionsReport> {
    const p = new Params();
    const [row] = await rowsOf<SessionsReport>(
      db,
      `WITH ${liveSessionsWith(q, p, this.#s)}
       SELECT count(*)::int AS sessions, (count(*) FILTER (WHERE l.authenticated))::int AS "authenticatedSessions",
         (count(*) FILTER (WHERE NOT l.authenticated))::int AS "anonymousSessions",
         coalesce(sum(l.page_views), 0)::float8 AS "pageViews",
         count(*) FILTER (WHERE l.page_views = 1)::int AS bounces,
         CASE WHEN count(*) > 0 THEN sum(l.duration_ms)::float8 / count(*)::float8 END AS "avgDurationMs",
         CASE WHEN count(*) > 0 THEN sum(l.page_views)::float8 / count(*)::float8 END AS "pagesPerSession",
         CASE WHEN count(*) > 0
           THEN (count(*) FILTER (WHERE l.page_views = 1))::float8 / count(*)::float8 END AS "bounceRate"
       FROM live l`,
      p.values,
    );
    return row!;
  }

  async conversions(db: Queryable, q: CheckedQuery): Promise<ConversionsReport> {
    const s = this.#s;
    const p = new Params();
    const conds = [`c.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`];
    if (q.path !== null) conds.push(pathCondition('c.first_landing_path', q.path, p));
    const inRange = `SELECT * FROM ${s}.conversions c WHERE ${conds.join(' AND ')}`;
    const limit = p.add(q.limit, 'int');
    const [summary] = await rowsOf<{
      signups: number;
      convertedSessions: number;
      visitorSessions: number;
      byLandingPage: { path: string; conversions: number }[];
      byReferrer: { referrerHost: string | null; conversions: number }[];
    }>(
      db,
      `WITH c AS (${inRange}),
       converted AS (SELECT DISTINCT unnest(session_ids) AS id FROM ${s}.conversions),
       landing AS (
         SELECT first_landing_path AS path, count(*)::int AS conversions FROM c
         WHERE first_session_id IS NOT NULL GROUP BY first_landing_path
         ORDER BY 2 DESC, ${key('first_landing_path')} LIMIT ${limit}
       ),
       referrer AS (
         SELECT first_referrer_host AS "referrerHost", count(*)::int AS conversions FROM c
         GROUP BY first_referrer_host ORDER BY 2 DESC, ${key('first_referrer_host')} LIMIT ${limit}
       )
       SELECT (SELECT count(*) FROM c)::int AS signups,
         (SELECT count(DISTINCT id) FROM (SELECT unnest(session_ids) AS id FROM c) x)::int AS "convertedSessions",
         (SELECT count(*) FROM ${s}.sessions s WHERE ${sessionWhere(q, p)}
            AND (s.user_id IS NULL OR s.id IN (SELECT id FROM converted)))::int AS "visitorSessions",
         coalesce((SELECT json_agg(l ORDER BY l.conversions DESC, ${key('l.path')}) FROM landing l), '[]') AS "byLandingPage",
         coalesce((SELECT json_agg(r ORDER BY r.conversions DESC, ${key('r."referrerHost"')}) FROM referrer r), '[]')
           AS "byReferrer"`,
      p.values,
    );
    const listParams = new Params();
    const listConds = [
      `c.day BETWEEN ${listParams.add(q.from, 'date')} AND ${listParams.add(q.to, 'date')}`,
      ...(q.path !== null ? [pathCondition('c.first_landing_path', q.path, listParams)] : []),
    ];
    const list = await rowsOf<Record<string, unknown>>(
      db,
      `SELECT ${CONVERSION_SELECT} FROM ${s}.conversions c WHERE ${listConds.join(' AND ')}
       ORDER BY c.at, ${key('c.id')} LIMIT ${listParams.add(q.limit, 'int')}`,
      listParams.values,
    );
    const { signups, convertedSessions, visitorSessions, byLandingPage, byReferrer } = summary!;
    return {
      signups,
      visitorSessions,
      convertedSessions,
      conversionRate: visitorSessions > 0 ? convertedSessions / visitorSessions : null,
      conversions: list.map(toConversion),
      byLandingPage,
      byReferrer,
    };
  }

  /** `steps` are checked by core's `checkFunnelSteps` (at most `MAX_FUNNEL_STEPS`: each is one join). */
  async funnel(db: Queryable, q: CheckedQuery, steps: string[]): Promise<FunnelStepRow[]> {
    const s = this.#s;
    const p = new Params();
    // Greedy matching: step k is reached at the earliest matching view after the view that reached step k-1,
    // which finds an ordered match whenever one exists.
    const ctes = [
      `v AS MATERIALIZED (
         SELECT pv.session_id, pv.path,
           row_number() OVER (PARTITION BY pv.session_id ORDER BY pv.seq, pv.id COLLATE "C") AS pos
         FROM ${s}.page_views pv
         JOIN ${s}.sessions s ON s.id = pv.session_id
         WHERE ${sessionWhere(q, p)} AND pv.day >= ${p.add(q.from, 'date')}
       )`,
      `s1 AS (SELECT session_id, min(pos) AS pos FROM v WHERE ${pathCondition('v.path', steps[0]!, p)} GROUP BY session_id)`,
    ];
    for (let i = 1; i < steps.length; i++) {
      ctes.push(
        `s${i + 1} AS (SELECT v.session_id, min(v.pos) AS pos FROM v JOIN s${i} ON s${i}.session_id = v.session_id
           AND v.pos > s${i}.pos WHERE ${pathCondition('v.path', steps[i]!, p)} GROUP BY v.session_id)`,
      );
    }
    const counts = steps.map((_, i) => `(SELECT count(*) FROM s${i + 1})::int AS c${i + 1}`).join(', ');
    const [row] = await rowsOf<Record<string, number>>(
      db,
      `WITH ${ctes.join(',\n')} SELECT ${counts}`,
      p.values,
    );
    return steps.map((step, i) => ({ step, sessions: row?.[`c${i + 1}`] ?? 0 }));
  }

  async journeys(db: Queryable, q: CheckedQuery, maxSteps: number): Promise<JourneyRow[]> {
    const s = this.#s;
    const p = new Params();
    return rowsOf<JourneyRow>(
      db,
      `WITH ${liveSessionsWith(q, p, s)},
       ss AS MATERIALIZED (SELECT id FROM live),
       v AS (
         SELECT pv.session_id, pv.seq, pv.id, pv.path,
           lag(pv.path) OVER (PARTITION BY pv.session_id ORDER BY pv.seq, pv.id COLLATE "C") AS prev
         FROM ${s}.page_views pv JOIN ss ON ss.id = pv.session_id
         WHERE pv.day >= ${p.add(q.from, 'date')}
       ),
       collapsed AS (
         SELECT session_id, path, row_number() OVER (PARTITION BY session_id ORDER BY seq, id COLLATE "C") AS n
         FROM v WHERE prev IS NULL OR prev <> path
       ),
       paths AS (
         SELECT session_id, array_agg(path ORDER BY n) AS steps FROM collapsed
         WHERE n <= ${p.add(maxSteps, 'int')} GROUP BY session_id
       ),
       converted AS (SELECT DISTINCT unnest(session_ids) AS id FROM ${s}.conversions),
       journeys AS (
         SELECT paths.steps
           || CASE WHEN paths.session_id IN (SELECT id FROM converted) THEN ARRAY['(signup)'] ELSE '{}'::text[] END AS steps
         FROM paths
       )
       SELECT steps, count(*)::int AS sessions FROM journeys
       GROUP BY steps ORDER BY 2 DESC, steps COLLATE "C" ASC
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  /** Sessions in range grouped by one column, count desc then key. */
  async #groupSessions<R>(db: Queryable, q: CheckedQuery, columns: [string, string][], extra = '') {
    const p = new Params();
    const select = columns.map(([col, alias]) => `s.${col} AS "${alias}"`).join(', ');
    const order = columns.map(([col]) => key(`s.${col}`)).join(', ');
    return rowsOf<R>(
      db,
      `SELECT ${select}, count(*)::int AS sessions FROM ${this.#s}.sessions s
       WHERE ${sessionWhere(q, p)}${extra}
       GROUP BY ${columns.map(([col]) => `s.${col}`).join(', ')}
       ORDER BY count(*) DESC, ${order}
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  referrers(db: Queryable, q: CheckedQuery): Promise<ReferrerRow[]> {
    return this.#groupSessions<ReferrerRow>(db, q, [['referrer_host', 'referrerHost']]);
  }

  campaigns(db: Queryable, q: CheckedQuery): Promise<CampaignRow[]> {
    return this.#groupSessions<CampaignRow>(
      db,
      q,
      [
        ['utm_source', 'utmSource'],
        ['utm_medium', 'utmMedium'],
        ['utm_campaign', 'utmCampaign'],
      ],
      ' AND (s.utm_source IS NOT NULL OR s.utm_medium IS NOT NULL OR s.utm_campaign IS NOT NULL)',
    );
  }

  async devices(db: Queryable, q: CheckedQuery): Promise<DevicesReport> {
    const [devices, browsers, os] = await Promise.all([
      this.#groupSessions<DevicesReport['devices'][number]>(db, q, [['device', 'device']]),
      this.#groupSessions<DevicesReport['browsers'][number]>(db, q, [['browser', 'browser']]),
      this.#groupSessions<DevicesReport['os'][number]>(db, q, [['os', 'os']]),
    ]);
    return { devices, browsers, os };
  }

  async bots(db: Queryable, q: CheckedQuery): Promise<BotsReport> {
    const s = this.#s;
    const p = new Params();
    const sessionConds = [`s.day BETWEEN ${p.add(q.from, 'date')} AND ${p.add(q.to, 'date')}`, 's.is_bot'];
    if (q.path !== null) sessionConds.push(pathCondition('s.landing_path', q.path, p));
    const [row] = await rowsOf<BotsReport>(
      db,
      `WITH a AS (SELECT a.path, a.bot_views FROM ${s}.daily_aggregates a WHERE ${aggregateWhere(q, p)}),
       top AS (
         SELECT path, sum(bot_views)::float8 AS views FROM a GROUP BY path HAVING sum(bot_views) > 0
         ORDER BY 2 DESC, ${key('path')} LIMIT ${p.add(q.limit, 'int')}
       )
       SELECT coalesce((SELECT sum(bot_views) FROM a), 0)::float8 AS views,
         (SELECT count(*) FROM ${s}.sessions s WHERE ${sessionConds.join(' AND ')})::int AS sessions,
         coalesce((SELECT json_agg(t ORDER BY t.views DESC, ${key('t.path')}) FROM top t), '[]') AS "topPaths"`,
      p.values,
    );
    return row!;
  }

  /**
   * Two reads: page-view figures per day (unique visitors as distinct keys per day) and live-session figures
   * per day; core's `buildOverview` assembles them.
   */
  async overview(db: Queryable, q: CheckedQuery): Promise<OverviewReport> {
    const s = this.#s;
    const vp = new Params();
    const counted = q.includeBots ? 'true' : 'NOT pv.is_bot';
    const viewConds = [`pv.day BETWEEN ${vp.add(q.from, 'date')} AND ${vp.add(q.to, 'date')}`];
    if (q.path !== null) viewConds.push(pathCondition('pv.path', q.path, vp));
    const sp = new Params();
    const [viewRows, sessionRows] = await Promise.all([
      rowsOf<ViewDayFigures & { day: string }>(
        db,
        `SELECT to_char(pv.day, 'YYYY-MM-DD') AS day,
           (count(DISTINCT pv.visitor_key) FILTER (WHERE ${counted}))::int AS "uniqueVisitors",
           (count(*) FILTER (WHERE ${counted}))::int AS "pageViews",
           (count(*) FILTER (WHERE ${counted} AND pv.authenticated))::int AS "authenticatedViews",
           (count(*) FILTER (WHERE ${counted} AND NOT pv.authenticated))::int AS "anonymousViews",
           (count(*) FILTER (WHERE pv.is_bot))::int AS "botViews"
         FROM ${s}.page_views pv WHERE ${viewConds.join(' AND ')} GROUP BY pv.day`,
        vp.values,
      ),
      rowsOf<SessionDayFigures & { day: string }>(
        db,
        `WITH ${liveSessionsWith(q, sp, s)}
         SELECT to_char(l.day, 'YYYY-MM-DD') AS day, count(*)::int AS sessions,
           (count(*) FILTER (WHERE l.authenticated))::int AS "authenticatedSessions",
           (count(*) FILTER (WHERE l.page_views = 1))::int AS bounces,
           coalesce(sum(l.duration_ms), 0)::float8 AS "durationSum"
         FROM live l GROUP BY l.day`,
        sp.values,
      ),
    ]);
    const byDay = <T extends { day: string }>(rows: T[]) =>
      new Map(rows.map(({ day, ...figures }) => [day, figures]));
    return buildOverview(byDay(viewRows), byDay(sessionRows));
  }

  /** Live sessions in range grouped by `column` of `live`, with `extra` aggregates; count desc then key. */
  async #groupLive<R>(db: Queryable, q: CheckedQuery, column: string, alias: string, extra = '') {
    const p = new Params();
    return rowsOf<R>(
      db,
      `WITH ${liveSessionsWith(q, p, this.#s)}
       SELECT l.${column} AS "${alias}", count(*)::int AS sessions${extra} FROM live l
       GROUP BY l.${column} ORDER BY count(*) DESC, ${key(`l.${column}`)}
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  entryPages(db: Queryable, q: CheckedQuery): Promise<EntryPageRow[]> {
    return this.#groupLive(
      db,
      q,
      'landing_path',
      'path',
      ', (count(*) FILTER (WHERE l.page_views = 1))::int AS bounces',
    );
  }

  exitPages(db: Queryable, q: CheckedQuery): Promise<ExitPageRow[]> {
    return this.#groupLive(db, q, 'exit_path', 'path');
  }

  countries(db: Queryable, q: CheckedQuery): Promise<CountryRow[]> {
    return this.#groupLive(db, q, 'country', 'country', ', sum(l.page_views)::int AS views');
  }

  async aggregates(db: Queryable, q: CheckedQuery): Promise<DailyAggregate[]> {
    const p = new Params();
    return rowsOf<DailyAggregate>(
      db,
      `SELECT ${AGGREGATE_SELECT} FROM ${this.#s}.daily_aggregates a WHERE ${aggregateWhere(q, p)}
       ORDER BY a.day, ${key('a.path')}${q.limited ? ` LIMIT ${p.add(q.limit, 'int')}` : ''}`,
      p.values,
    );
  }
}
