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
import { aggregateWhere, liveSessionsWith, rollupWhere } from './report-query.js';
import { AGGREGATE_SELECT, CONVERSION_SELECT, toConversion } from './rows.js';
import { Params, pathCondition } from './sql.js';

// Ties are broken by the key in code-point order (COLLATE "C" compares UTF-8 bytes), nulls first.
const key = (column: string) => `${column} COLLATE "C" ASC NULLS FIRST`;

/**
 * The page views an aggregate row (alias `a`) counts, split by login (core's `countedViews`, in SQL): its human
 * counts, and with `includeBots` its bot views too — `bot_authenticated_views` to the authenticated, the rest
 * to the anonymous — so views = authenticated + anonymous either way.
 */
function countedViews(q: CheckedQuery) {
  if (!q.includeBots)
    return { views: 'a.views', authenticated: 'a.authenticated_views', anonymous: 'a.anonymous_views' };
  return {
    views: '(a.views + a.bot_views)',
    authenticated: '(a.authenticated_views + a.bot_authenticated_views)',
    anonymous: '(a.anonymous_views + a.bot_views - a.bot_authenticated_views)',
  };
}

/** Every report of docs/semantics.md as SQL over one schema. */
export class Reports {
  readonly #s: string;

  constructor(quotedSchema: string) {
    this.#s = quotedSchema;
  }

  async topPages(db: Queryable, q: CheckedQuery): Promise<TopPageRow[]> {
    const p = new Params();
    const c = countedViews(q);
    return rowsOf<TopPageRow>(
      db,
      `SELECT a.path, sum(${c.views})::float8 AS views, sum(a.unique_visitors)::float8 AS "uniqueVisitors",
         sum(${c.authenticated})::float8 AS "authenticatedViews", sum(${c.anonymous})::float8 AS "anonymousViews",
         CASE WHEN sum(a.time_on_page_count) > 0
           THEN sum(a.time_on_page_sum_ms)::float8 / sum(a.time_on_page_count)::float8 END AS "avgTimeOnPageMs",
         CASE WHEN sum(a.scroll_depth_count) > 0
           THEN sum(a.scroll_depth_sum)::float8 / sum(a.scroll_depth_count)::float8 END AS "avgScrollDepth"
       FROM ${this.#s}.daily_aggregates a
       WHERE ${aggregateWhere(q, p)}
       GROUP BY a.path
       HAVING sum(${c.views}) > 0
       ORDER BY 2 DESC, ${key('a.path')}
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  /** Live sessions and the rollup rows of purged ones, summed in one statement. */
  async sessions(db: Queryable, q: CheckedQuery): Promise<SessionsReport> {
    const p = new Params();
    const [row] = await rowsOf<SessionsReport>(
      db,
      `WITH ${liveSessionsWith(q, p, this.#s)},
       parts AS (
         SELECT count(*) AS n, count(*) FILTER (WHERE l.authenticated) AS auth,
           coalesce(sum(l.page_views), 0) AS views, count(*) FILTER (WHERE l.page_views = 1) AS bounces,
           coalesce(sum(l.duration_ms), 0)::float8 AS duration
         FROM live l
         UNION ALL
         SELECT coalesce(sum(r.sessions), 0), coalesce(sum(r.sessions) FILTER (WHERE r.authenticated), 0),
           coalesce(sum(r.page_views), 0), coalesce(sum(r.bounces), 0), coalesce(sum(r.duration_ms), 0)
         FROM ${this.#s}.session_rollups r WHERE ${rollupWhere(q, p)}
       ),
       t AS (SELECT sum(n) AS n, sum(auth) AS auth, sum(views) AS views, sum(bounces) AS bounces,
         sum(duration) AS duration FROM parts)
       SELECT t.n::int AS sessions, t.auth::int AS "authenticatedSessions",
         (t.n - t.auth)::int AS "anonymousSessions", t.views::float8 AS "pageViews", t.bounces::int AS bounces,
         CASE WHEN t.n > 0 THEN t.duration / t.n::float8 END AS "avgDurationMs",
         CASE WHEN t.n > 0 THEN t.views::float8 / t.n::float8 END AS "pagesPerSession",
         CASE WHEN t.n > 0 THEN t.bounces::float8 / t.n::float8 END AS "bounceRate"
       FROM t`,
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
      `WITH ${liveSessionsWith(q, p, s)},
       c AS (${inRange}),
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
         ((SELECT count(*) FROM live l WHERE NOT l.authenticated OR l.id IN (SELECT id FROM converted))
          + (SELECT coalesce(sum(r.sessions), 0) FROM ${s}.session_rollups r
            WHERE ${rollupWhere(q, p)} AND r.visitor AND NOT r.authenticated))::int AS "visitorSessions",
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
      liveSessionsWith(q, p, s),
      `v AS MATERIALIZED (
         SELECT pv.session_id, pv.path,
           row_number() OVER (PARTITION BY pv.session_id ORDER BY pv.seq, pv.id COLLATE "C") AS pos
         FROM ${s}.page_views pv
         JOIN live ON live.id = pv.session_id
         WHERE pv.day >= ${p.add(q.from, 'date')}
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

  /**
   * Live sessions in range and the rollup rows of purged ones, grouped by `columns` (present in both), each
   * rollup row counting as its `sessions`; count desc then key. `extra(alias)` adds conditions on either.
   */
  async #groupSessions<R>(
    db: Queryable,
    q: CheckedQuery,
    columns: [string, string][],
    extra: (alias: string) => string = () => '',
  ) {
    const p = new Params();
    const pick = (alias: string) => columns.map(([col]) => `${alias}.${col}`).join(', ');
    const select = columns.map(([col, alias]) => `u.${col} AS "${alias}"`).join(', ');
    const order = columns.map(([col]) => key(`u.${col}`)).join(', ');
    return rowsOf<R>(
      db,
      `WITH ${liveSessionsWith(q, p, this.#s)},
       u AS (
         SELECT ${pick('l')}, 1 AS n FROM live l WHERE true${extra('l')}
         UNION ALL
         SELECT ${pick('r')}, r.sessions FROM ${this.#s}.session_rollups r WHERE ${rollupWhere(q, p)}${extra('r')}
       )
       SELECT ${select}, sum(u.n)::int AS sessions FROM u
       GROUP BY ${pick('u')}
       ORDER BY sum(u.n) DESC, ${order}
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
      (a) =>
        ` AND (${a}.utm_source IS NOT NULL OR ${a}.utm_medium IS NOT NULL OR ${a}.utm_campaign IS NOT NULL)`,
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
    const [row] = await rowsOf<BotsReport>(
      db,
      `WITH ${liveSessionsWith(q, p, s, 'only')},
       a AS (SELECT a.path, a.bot_views FROM ${s}.daily_aggregates a WHERE ${aggregateWhere(q, p)}),
       top AS (
         SELECT path, sum(bot_views)::float8 AS views FROM a GROUP BY path HAVING sum(bot_views) > 0
         ORDER BY 2 DESC, ${key('path')} LIMIT ${p.add(q.limit, 'int')}
       )
       SELECT coalesce((SELECT sum(bot_views) FROM a), 0)::float8 AS views,
         ((SELECT count(*) FROM live)
          + (SELECT coalesce(sum(r.sessions), 0) FROM ${s}.session_rollups r
            WHERE ${rollupWhere(q, p, 'r', 'only')}))::int AS sessions,
         coalesce((SELECT json_agg(t ORDER BY t.views DESC, ${key('t.path')}) FROM top t), '[]') AS "topPaths"`,
      p.values,
    );
    return row!;
  }

  /**
   * Two reads, assembled by core's `buildOverview`. Page-view figures per day: the counts from
   * `daily_aggregates` (which survive purge; with bots split by login as `countedViews` does), the distinct
   * visitor keys of the stored counted views, and the visitors of purged views from `visitor_rollups` — core's
   * `overviewViewDays`, in SQL. Session figures per day: live sessions and session rollup rows.
   */
  async overview(db: Queryable, q: CheckedQuery): Promise<OverviewReport> {
    const s = this.#s;
    const vp = new Params();
    const from = vp.add(q.from, 'date');
    const to = vp.add(q.to, 'date');
    const c = countedViews(q);
    const viewConds = [`pv.day BETWEEN ${from} AND ${to}`];
    if (!q.includeBots) viewConds.push('NOT pv.is_bot');
    if (q.path !== null) viewConds.push(pathCondition('pv.path', q.path, vp));
    const aggregateConds = [`a.day BETWEEN ${from} AND ${to}`, '(a.views > 0 OR a.bot_views > 0)'];
    if (q.path !== null) aggregateConds.push(pathCondition('a.path', q.path, vp));
    // Without a path filter the whole-site rows (path null); with one, the rows of the paths it matches.
    const rollupConds = [`r.day BETWEEN ${from} AND ${to}`];
    rollupConds.push(q.path === null ? 'r.path IS NULL' : pathCondition('r.path', q.path, vp));
    const sp = new Params();
    const [viewRows, sessionRows] = await Promise.all([
      rowsOf<ViewDayFigures & { day: string }>(
        db,
        `WITH parts AS (
           SELECT a.day, 0 AS visitors, ${c.views} AS views, ${c.authenticated} AS authenticated,
             ${c.anonymous} AS anonymous, a.bot_views AS bot_views
           FROM ${s}.daily_aggregates a WHERE ${aggregateConds.join(' AND ')}
           UNION ALL
           SELECT pv.day, count(DISTINCT pv.visitor_key), 0, 0, 0, 0
           FROM ${s}.page_views pv WHERE ${viewConds.join(' AND ')} GROUP BY pv.day
           UNION ALL
           SELECT r.day, sum(r.${q.includeBots ? 'visitors_with_bots' : 'visitors'}), 0, 0, 0, 0
           FROM ${s}.visitor_rollups r WHERE ${rollupConds.join(' AND ')}
           GROUP BY r.day HAVING sum(r.${q.includeBots ? 'visitors_with_bots' : 'visitors'}) <> 0
         )
         SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(visitors)::float8 AS "uniqueVisitors",
           sum(views)::float8 AS "pageViews", sum(authenticated)::float8 AS "authenticatedViews",
           sum(anonymous)::float8 AS "anonymousViews", sum(bot_views)::float8 AS "botViews"
         FROM parts GROUP BY day`,
        vp.values,
      ),
      rowsOf<SessionDayFigures & { day: string }>(
        db,
        `WITH ${liveSessionsWith(q, sp, s)},
         parts AS (
           SELECT l.day, 1 AS n, l.authenticated::int AS auth, (l.page_views = 1)::int AS bounces,
             l.duration_ms::float8 AS duration
           FROM live l
           UNION ALL
           SELECT r.day, r.sessions, CASE WHEN r.authenticated THEN r.sessions ELSE 0 END, r.bounces, r.duration_ms
           FROM ${s}.session_rollups r WHERE ${rollupWhere(q, sp)}
         )
         SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(n)::int AS sessions,
           sum(auth)::int AS "authenticatedSessions", sum(bounces)::int AS bounces,
           sum(duration)::float8 AS "durationSum"
         FROM parts GROUP BY day`,
        sp.values,
      ),
    ]);
    const byDay = <T extends { day: string }>(rows: T[]) =>
      new Map(rows.map(({ day, ...figures }) => [day, figures]));
    return buildOverview(byDay(viewRows), byDay(sessionRows));
  }

  /**
   * Live sessions in range and the rollup rows of purged ones, grouped by `column` (present in both), with
   * `bounces` and page-view sums when asked; sessions desc then key.
   */
  async #groupLive<R>(
    db: Queryable,
    q: CheckedQuery,
    column: string,
    alias: string,
    extra: { bounces?: boolean; views?: boolean } = {},
  ) {
    const p = new Params();
    const sums = [
      ...(extra.bounces ? [', sum(u.bounces)::int AS bounces'] : []),
      ...(extra.views ? [', sum(u.views)::int AS views'] : []),
    ].join('');
    return rowsOf<R>(
      db,
      `WITH ${liveSessionsWith(q, p, this.#s)},
       u AS (
         SELECT l.${column} AS k, 1 AS n, (l.page_views = 1)::int AS bounces, l.page_views AS views FROM live l
         UNION ALL
         SELECT r.${column}, r.sessions, r.bounces, r.page_views
         FROM ${this.#s}.session_rollups r WHERE ${rollupWhere(q, p)}
       )
       SELECT u.k AS "${alias}", sum(u.n)::int AS sessions${sums} FROM u
       GROUP BY u.k ORDER BY sum(u.n) DESC, ${key('u.k')}
       LIMIT ${p.add(q.limit, 'int')}`,
      p.values,
    );
  }

  entryPages(db: Queryable, q: CheckedQuery): Promise<EntryPageRow[]> {
    return this.#groupLive(db, q, 'landing_path', 'path', { bounces: true });
  }

  exitPages(db: Queryable, q: CheckedQuery): Promise<ExitPageRow[]> {
    return this.#groupLive(db, q, 'exit_path', 'path');
  }

  countries(db: Queryable, q: CheckedQuery): Promise<CountryRow[]> {
    return this.#groupLive(db, q, 'country', 'country', { views: true });
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
