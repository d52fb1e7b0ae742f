import type {
  BotsReport,
  CampaignRow,
  Conversion,
  ConversionsReport,
  DailyAggregate,
  DevicesReport,
  DeviceType,
  FunnelStepRow,
  JourneyRow,
  OverviewReport,
  ReferrerRow,
  Reports,
  SessionsReport,
  TopPageRow,
} from '@anon/core';
import { matchPath } from '@anon/core';
import {
  type BotSelection,
  botSelectionOf,
  buildOverview,
  checkFunnelSteps,
  checkMaxSteps,
  compareCampaignRows,
  compareCodePoints,
  compareCounted,
  compareJourneyRows,
  countedViews,
  countriesOf,
  emptyAggregate,
  entryPagesOf,
  exitPagesOf,
  type LiveSession,
  mergeLive,
  overviewViewDays,
  type StoredViewDayFigures,
  type SummaryPart,
  sessionDays,
  sessionsReportOf,
  visitorRollupDays,
} from '@anon/core/adapter';
import type { CollectionKey, Collections } from './collections.js';
import type { MongoDocument } from './db-like.js';
import { SOURCE } from './errors.js';
import { SUMMARY_PART_PROJECTION, summaryPartOf, viewFolds } from './live-sessions.js';
import { committedRun } from './purge.js';
import { type CheckedQuery, checkQuery, dayRange, withPath } from './report-query.js';
import { sessionRollupRows, sessionRollupStages, visitorRollupRows } from './rollups.js';
import { AGGREGATE_FIELDS, CONVERSION_SHAPE, fromDocument } from './schema.js';
import { literal } from './session-merge.js';

const SIGNUP_STEP = '(signup)';
/** @default 5 */

/** `$limit` only when positive (MongoDB rejects `$limit: 0`; the caller slices to the limit anyway). */
function limitStage(limit: number): MongoDocument[] {
  return limit > 0 ? [{ $limit: limit }] : [];
}

/** Counts grouped by one key, ordered count desc then key (code-point order, null first). */
function rankedRows(docs: MongoDocument[], limit: number): [string | null, number][] {
  return docs
    .map((doc): [string | null, number] => [(doc._id as string | null | undefined) ?? null, Number(doc.n)])
    .sort(compareCounted)
    .slice(0, limit);
}

/** A pipeline grouping matched documents by `key`, counted, ordered and limited on the server. */
function rankedPipeline(key: unknown, limit: number): MongoDocument[] {
  return [{ $group: { _id: key, n: { $sum: 1 } } }, { $sort: { n: -1, _id: 1 } }, ...limitStage(limit)];
}

/** Groups `{ _id, n }` of several sources summed by `_id` (live sessions and rollup rows of one report). */
function summed(...sources: MongoDocument[][]): MongoDocument[] {
  const rows = new Map<string, MongoDocument>();
  for (const docs of sources) {
    for (const doc of docs) {
      const id = doc._id ?? null;
      const key = JSON.stringify(id);
      const row = rows.get(key);
      if (row === undefined) rows.set(key, { _id: id, n: Number(doc.n) });
      else row.n = Number(row.n) + Number(doc.n);
    }
  }
  return [...rows.values()].filter((row) => Number(row.n) > 0);
}

/** Live sessions counted by `key` as `{ _id: key, n }` documents, to be `summed` with rollup rows. */
function countedBy(sessions: readonly LiveSession[], key: (s: LiveSession) => unknown): MongoDocument[] {
  const rows = new Map<string, MongoDocument>();
  for (const s of sessions) {
    const id = key(s);
    const k = JSON.stringify(id);
    const row = rows.get(k);
    if (row === undefined) rows.set(k, { _id: id, n: 1 });
    else row.n = Number(row.n) + 1;
  }
  return [...rows.values()];
}

/** Records of a committed purge run are gone for reports, even before they are deleted. */
function notPurged(committed: string | null): MongoDocument {
  return committed === null ? {} : { purgeRun: { $ne: committed } };
}

/** Every report of docs/semantics.md as aggregation pipelines over the store's collections. */
export function createReports(c: Collections): Reports {
  const botsFor = botSelectionOf;
  /** Rollup rows of a report grouped on the server: `{ _id: key, n: sessions }`. */
  const rolledUp = async (
    q: CheckedQuery,
    bots: BotSelection,
    committed: string | null,
    key: unknown,
    only: MongoDocument = {},
  ): Promise<MongoDocument[]> =>
    c.sessionRollups
      .aggregate([
        ...(await sessionRollupStages(c, q, bots, committed)),
        { $match: only },
        { $group: { _id: key, n: { $sum: '$sessions' } } },
      ])
      .toArray();
  const rowMatch = (q: CheckedQuery): Promise<MongoDocument> =>
    withPath(c.dailyPages, { day: dayRange(q) }, 'path', q.path);

  /**
   * Sessions in range as every session-level report counts them (core's `mergeLive`): each stored summary
   * merged with the fold of its stored page views, and sessions whose views are stored but whose summary is not
   * yet; landing page matching, bots as `bots` says. Summaries are written only every few views; the page
   * views, folded on the server by `sessionId`, are exact.
   */
  const liveIn = async (
    q: CheckedQuery,
    committed: string | null,
    bots: BotSelection = botsFor(q),
  ): Promise<LiveSession[]> => {
    const [summaryIds, viewIds] = await Promise.all([
      c.sessions
        .aggregate([{ $match: { day: dayRange(q), ...notPurged(committed) } }, { $project: { _id: 1 } }])
        .toArray(),
      c.pageViews
        .aggregate([
          { $match: { day: dayRange(q), sessionId: { $ne: null }, ...notPurged(committed) } },
          { $group: { _id: '$sessionId' } },
        ])
        .toArray(),
    ]);
    const ids = [...new Set([...summaryIds, ...viewIds].map((doc) => String(doc._id)))];
    if (ids.length === 0) return [];
    const [summaries, folds] = await Promise.all([
      c.sessions
        .aggregate([
          { $match: { _id: { $in: ids }, ...notPurged(committed) } },
          { $project: SUMMARY_PART_PROJECTION },
        ])
        .toArray(),
      viewFolds(c, ids, notPurged(committed)),
    ]);
    const summaryOf = new Map<string, SummaryPart>();
    for (const doc of summaries) summaryOf.set(String(doc._id), summaryPartOf(doc));
    const found: LiveSession[] = [];
    for (const id of ids) {
      const s = mergeLive(id, summaryOf.get(id) ?? null, folds.get(id) ?? null);
      if (s === null || s.day < q.from || s.day > q.to) continue;
      if (bots === 'exclude' && s.isBot) continue;
      if (bots === 'only' && !s.isBot) continue;
      if (q.path !== null && !matchPath(q.path, s.landingPath)) continue;
      found.push(s);
    }
    return found;
  };

  /** The stored page views of `match`, as each session's paths in `seq` order (then id): `{ _id, paths }`. */
  const sessionPaths = (match: MongoDocument): MongoDocument[] => [
    { $match: match },
    { $sort: { sessionId: 1, seq: 1, _id: 1 } },
    { $group: { _id: '$sessionId', paths: { $push: '$path' } } },
  ];

  /** The ids of the conversions' sessions among `ids` (looked up by the `sessionIds` index). */
  const namedAmong = async (ids: string[]): Promise<Set<string>> => {
    if (ids.length === 0) return new Set();
    const docs = await c.conversions
      .aggregate([
        { $match: { sessionIds: { $in: ids } } },
        { $project: { sessionIds: 1 } },
        { $unwind: '$sessionIds' },
        { $match: { sessionIds: { $in: ids } } },
        { $group: { _id: '$sessionIds' } },
      ])
      .toArray();
    return new Set(docs.map((doc) => String(doc._id)));
  };

  return {
    async topPages(query): Promise<TopPageRow[]> {
      const q = checkQuery(query, 'topPages');
      const docs = await c.dailyPages
        .aggregate([
          { $match: await rowMatch(q) },
          {
            $group: {
              _id: '$path',
              views: { $sum: '$views' },
              uniqueVisitors: { $sum: '$uniqueVisitors' },
              authenticatedViews: { $sum: '$authenticatedViews' },
              anonymousViews: { $sum: '$anonymousViews' },
              botViews: { $sum: '$botViews' },
              // Absent from rows written before it existed: 0 (`$sum` skips a missing field).
              botAuthenticatedViews: { $sum: '$botAuthenticatedViews' },
              timeSum: { $sum: '$timeOnPageSumMs' },
              timeCount: { $sum: '$timeOnPageCount' },
              scrollSum: { $sum: '$scrollDepthSum' },
              scrollCount: { $sum: '$scrollDepthCount' },
            },
          },
          // Core's `countedViews` decides the split; the server only needs the order to limit.
          { $set: { counted: q.includeBots ? { $add: ['$views', '$botViews'] } : '$views' } },
          { $match: { counted: { $gt: 0 } } },
          { $sort: { counted: -1, _id: 1 } },
          ...limitStage(q.limit),
        ])
        .toArray();
      return docs
        .map((doc) => ({
          path: String(doc._id),
          ...countedViews(
            {
              views: Number(doc.views),
              authenticatedViews: Number(doc.authenticatedViews),
              anonymousViews: Number(doc.anonymousViews),
              botViews: Number(doc.botViews),
              botAuthenticatedViews: Number(doc.botAuthenticatedViews),
            },
            q.includeBots,
          ),
          uniqueVisitors: Number(doc.uniqueVisitors),
          avgTimeOnPageMs: Number(doc.timeCount) === 0 ? null : Number(doc.timeSum) / Number(doc.timeCount),
          avgScrollDepth:
            Number(doc.scrollCount) === 0 ? null : Number(doc.scrollSum) / Number(doc.scrollCount),
        }))
        .sort((a, b) => b.views - a.views || compareCodePoints(a.path, b.path))
        .slice(0, q.limit);
    },

    async sessions(query): Promise<SessionsReport> {
      const q = checkQuery(query, 'sessions');
      const committed = await committedRun(c);
      const [live, rollups] = await Promise.all([
        liveIn(q, committed),
        sessionRollupRows(c, q, botsFor(q), committed),
      ]);
      return sessionsReportOf(live, rollups);
    },

    async conversions(query): Promise<ConversionsReport> {
      const q = checkQuery(query, 'conversions');
      const match = await withPath(c.conversions, { day: dayRange(q) }, 'firstTouch.landingPath', q.path);
      const [facets] = await c.conversions
        .aggregate([
          { $match: match },
          {
            $facet: {
              list: [{ $sort: { at: 1, _id: 1 } }, ...limitStage(q.limit)],
              signups: [{ $count: 'n' }],
              converted: [{ $unwind: '$sessionIds' }, { $group: { _id: '$sessionIds' } }, { $count: 'n' }],
              byLandingPage: [
                { $match: { firstTouch: { $ne: null } } },
                ...rankedPipeline('$firstTouch.landingPath', q.limit),
              ],
              byReferrer: rankedPipeline({ $ifNull: ['$firstTouch.referrerHost', null] }, q.limit),
            },
          },
        ])
        .toArray();
      // Live sessions that could convert (core's `isLiveVisitorSession`): no user id on the summary nor any
      // stored view, or named by a conversion (looked up only for the logged-in ones, the few). Purged ones are
      // in the rollups: rows with `visitor` and not `authenticated` (core's `isVisitorRollup`).
      const committed = await committedRun(c);
      const [live, rolled] = await Promise.all([
        liveIn(q, committed),
        rolledUp(q, botsFor(q), committed, null, { visitor: true, authenticated: false }),
      ]);
      const named = await namedAmong(live.filter((s) => s.authenticated).map((s) => s.id));
      const count = (list: unknown): number => Number((list as MongoDocument[] | undefined)?.[0]?.n ?? 0);
      const convertedSessions = count(facets?.converted);
      const visitorSessions =
        live.filter((s) => !s.authenticated || named.has(s.id)).length + Number(rolled[0]?.n ?? 0);
      const conversions = ((facets?.list ?? []) as MongoDocument[])
        .map((doc) => fromDocument<Conversion>(CONVERSION_SHAPE, doc))
        .sort((a, b) => a.at - b.at || compareCodePoints(a.id, b.id))
        .slice(0, q.limit);
      return {
        signups: count(facets?.signups),
        visitorSessions,
        convertedSessions,
        conversionRate: visitorSessions === 0 ? null : convertedSessions / visitorSessions,
        conversions,
        byLandingPage: rankedRows((facets?.byLandingPage ?? []) as MongoDocument[], q.limit).map(
          ([path, conversions]) => ({ path: String(path), conversions }),
        ),
        byReferrer: rankedRows((facets?.byReferrer ?? []) as MongoDocument[], q.limit).map(
          ([referrerHost, conversions]) => ({ referrerHost, conversions }),
        ),
      };
    },

    async funnel(query, steps): Promise<FunnelStepRow[]> {
      const q = checkQuery(query, 'funnel');
      checkFunnelSteps(steps, SOURCE);
      if (steps.length === 0) return [];
      // Funnels need each session's sequence of views: purged sessions are not counted (no rollup keeps it).
      const committed = await committedRun(c);
      const ids = (await liveIn(q, committed)).map((s) => s.id);
      if (ids.length === 0) return steps.map((step) => ({ step, sessions: 0 }));
      const match = { sessionId: { $in: ids }, ...notPurged(committed) };
      // A pattern step becomes the set of stored paths it matches (core's matchPath, no server-side regex).
      let paths: string[] | null = null;
      if (steps.some((step) => step.includes('*'))) {
        const distinct = await c.pageViews
          .aggregate([{ $match: match }, { $group: { _id: '$path' } }])
          .toArray();
        paths = distinct.map((doc) => doc._id).filter((path): path is string => typeof path === 'string');
      }
      const matches = (step: string): MongoDocument =>
        step.includes('*')
          ? { $in: ['$$this', literal((paths ?? []).filter((path) => matchPath(step, path)))] }
          : { $eq: ['$$this', literal(step)] };
      // Walk each session's paths once: the step reached so far advances when the next step matches.
      const advance = {
        $switch: {
          branches: steps.map((step, k) => ({
            case: { $and: [{ $eq: ['$$value', k] }, matches(step)] },
            // biome-ignore lint/suspicious/noThenProperty: `then` is the name MongoDB's `$switch` requires.
            then: k + 1,
          })),
          default: '$$value',
        },
      };
      const docs = await c.pageViews
        .aggregate([
          ...sessionPaths(match),
          { $project: { reached: { $reduce: { input: '$paths', initialValue: 0, in: advance } } } },
          { $group: { _id: '$reached', n: { $sum: 1 } } },
        ])
        .toArray();
      const reached = steps.map(() => 0);
      for (const doc of docs) {
        const k = Number(doc._id);
        for (let i = 0; i < k && i < steps.length; i++) reached[i]! += Number(doc.n);
      }
      return steps.map((step, i) => ({ step, sessions: reached[i]! }));
    },

    async journeys(query): Promise<JourneyRow[]> {
      const q = checkQuery(query, 'journeys');
      const maxSteps = checkMaxSteps(query.maxSteps, SOURCE);
      const collapse = {
        $reduce: {
          input: '$paths',
          initialValue: [],
          in: {
            $cond: [
              { $eq: [{ $arrayElemAt: ['$$value', -1] }, '$$this'] },
              '$$value',
              { $concatArrays: ['$$value', ['$$this']] },
            ],
          },
        },
      };
      const ids = (await liveIn(q, await committedRun(c))).map((s) => s.id);
      if (ids.length === 0) return [];
      const docs = await c.pageViews
        .aggregate([
          { $match: { sessionId: { $in: ids } } },
          { $sort: { sessionId: 1, seq: 1, _id: 1 } },
          { $group: { _id: '$sessionId', paths: { $push: '$path' } } },
          {
            $lookup: {
              from: collectionName(c, 'conversions'),
              localField: '_id',
              foreignField: 'sessionIds',
              as: 'named',
            },
          },
          {
            $project: {
              steps: {
                $concatArrays: [
                  { $slice: [collapse, maxSteps] },
                  { $cond: [{ $gt: [{ $size: '$named' }, 0] }, [literal(SIGNUP_STEP)], []] },
                ],
              },
            },
          },
          { $group: { _id: '$steps', n: { $sum: 1 } } },
        ])
        .toArray();
      // Arrays sort by their smallest element in MongoDB, not element-wise: order here.
      return docs
        .map((doc) => ({ steps: doc._id as string[], sessions: Number(doc.n) }))
        .sort(compareJourneyRows)
        .slice(0, q.limit);
    },

    async referrers(query): Promise<ReferrerRow[]> {
      const q = checkQuery(query, 'referrers');
      const committed = await committedRun(c);
      const [live, rolled] = await Promise.all([
        liveIn(q, committed),
        rolledUp(q, botsFor(q), committed, '$referrerHost'),
      ]);
      return rankedRows(
        summed(
          countedBy(live, (s) => s.referrerHost),
          rolled,
        ),
        q.limit,
      ).map(([referrerHost, sessions]) => ({
        referrerHost,
        sessions,
      }));
    },

    async campaigns(query): Promise<CampaignRow[]> {
      const q = checkQuery(query, 'campaigns');
      const committed = await committedRun(c);
      const tagged = {
        $or: [{ utmSource: { $ne: null } }, { utmMedium: { $ne: null } }, { utmCampaign: { $ne: null } }],
      };
      // The three as an array: one canonical key for both sources, whatever the field order.
      const key = [
        { $ifNull: ['$utmSource', null] },
        { $ifNull: ['$utmMedium', null] },
        { $ifNull: ['$utmCampaign', null] },
      ];
      const [live, rolled] = await Promise.all([
        liveIn(q, committed),
        rolledUp(q, botsFor(q), committed, key, tagged),
      ]);
      const liveTagged = live.filter(
        (s) => s.utmSource !== null || s.utmMedium !== null || s.utmCampaign !== null,
      );
      return summed(
        countedBy(liveTagged, (s) => [s.utmSource, s.utmMedium, s.utmCampaign]),
        rolled,
      )
        .map((doc) => {
          const [utmSource, utmMedium, utmCampaign] = doc._id as (string | null)[];
          return {
            utmSource: utmSource ?? null,
            utmMedium: utmMedium ?? null,
            utmCampaign: utmCampaign ?? null,
            sessions: Number(doc.n),
          };
        })
        .sort(compareCampaignRows)
        .slice(0, q.limit);
    },

    async devices(query): Promise<DevicesReport> {
      const q = checkQuery(query, 'devices');
      const committed = await committedRun(c);
      const facet = {
        $facet: {
          devices: [{ $group: { _id: '$device', n: { $sum: '$n' } } }],
          browsers: [{ $group: { _id: '$browser', n: { $sum: '$n' } } }],
          os: [{ $group: { _id: '$os', n: { $sum: '$n' } } }],
        },
      };
      const [live, [rolled]] = await Promise.all([
        liveIn(q, committed),
        c.sessionRollups
          .aggregate([
            ...(await sessionRollupStages(c, q, botsFor(q), committed)),
            { $project: { device: 1, browser: 1, os: 1, n: '$sessions' } },
            facet,
          ])
          .toArray(),
      ]);
      const liveBy: Record<string, MongoDocument[]> = {
        devices: countedBy(live, (s) => s.device),
        browsers: countedBy(live, (s) => s.browser),
        os: countedBy(live, (s) => s.os),
      };
      const list = (name: string) =>
        rankedRows(summed(liveBy[name] ?? [], (rolled?.[name] ?? []) as MongoDocument[]), q.limit);
      return {
        devices: list('devices').map(([device, sessions]) => ({ device: device as DeviceType, sessions })),
        browsers: list('browsers').map(([browser, sessions]) => ({ browser, sessions })),
        os: list('os').map(([os, sessions]) => ({ os, sessions })),
      };
    },

    async bots(query): Promise<BotsReport> {
      const q = checkQuery(query, 'bots');
      const committed = await committedRun(c);
      const [facets] = await c.dailyPages
        .aggregate([
          { $match: await rowMatch(q) },
          { $match: { botViews: { $gt: 0 } } },
          {
            $facet: {
              total: [{ $group: { _id: null, n: { $sum: '$botViews' } } }],
              topPaths: [
                { $group: { _id: '$path', n: { $sum: '$botViews' } } },
                { $sort: { n: -1, _id: 1 } },
                ...limitStage(q.limit),
              ],
            },
          },
        ])
        .toArray();
      const [live, [rolled]] = await Promise.all([
        liveIn(q, committed, 'only'),
        rolledUp(q, 'only', committed, null),
      ]);
      return {
        views: Number((facets?.total as MongoDocument[] | undefined)?.[0]?.n ?? 0),
        sessions: live.length + Number(rolled?.n ?? 0),
        topPaths: rankedRows((facets?.topPaths ?? []) as MongoDocument[], q.limit).map(([path, views]) => ({
          path: String(path),
          views,
        })),
      };
    },

    async overview(query): Promise<OverviewReport> {
      const q = checkQuery(query, 'overview');
      const committed = await committedRun(c);
      // Page-view counts from the aggregates, which survive purge; visitors from the stored views and the
      // visitor rollups of purged ones (core's `overviewViewDays`).
      const counted: MongoDocument = {
        day: dayRange(q),
        ...notPurged(committed),
        ...(q.includeBots ? {} : { isBot: false }),
      };
      const stored = await withPath(c.pageViews, counted, 'path', q.path);
      const [aggregates, storedDays, uniques, visitorRows, live, rollups] = await Promise.all([
        c.dailyPages
          .aggregate([
            { $match: await rowMatch(q) },
            {
              $group: {
                _id: '$day',
                views: { $sum: '$views' },
                botViews: { $sum: '$botViews' },
                authenticatedViews: { $sum: '$authenticatedViews' },
                anonymousViews: { $sum: '$anonymousViews' },
                botAuthenticatedViews: { $sum: '$botAuthenticatedViews' },
              },
            },
          ])
          .toArray(),
        // The days with a stored counted view (a day may have them and no visitor key).
        c.pageViews.aggregate([{ $match: stored }, { $group: { _id: '$day' } }]).toArray(),
        // Distinct keys per day in two groups, so no document holds a day's keys.
        c.pageViews
          .aggregate([
            { $match: { ...stored, visitorKey: { $ne: null } } },
            { $group: { _id: { day: '$day', key: '$visitorKey' } } },
            { $group: { _id: '$_id.day', n: { $sum: 1 } } },
          ])
          .toArray(),
        visitorRollupRows(c, q, committed),
        liveIn(q, committed),
        sessionRollupRows(c, q, botsFor(q), committed),
      ]);
      // One row per day: the day's aggregate rows summed (overviewViewDays only adds them up).
      const rows = aggregates.map((doc) => ({
        ...emptyAggregate(String(doc._id), ''),
        views: Number(doc.views),
        botViews: Number(doc.botViews),
        authenticatedViews: Number(doc.authenticatedViews),
        anonymousViews: Number(doc.anonymousViews),
        botAuthenticatedViews: Number(doc.botAuthenticatedViews),
      }));
      const uniqueOf = new Map(uniques.map((doc) => [String(doc._id), Number(doc.n)]));
      const figures = new Map<string, StoredViewDayFigures>();
      for (const doc of storedDays) {
        const day = String(doc._id);
        figures.set(day, { uniqueVisitors: uniqueOf.get(day) ?? 0 });
      }
      const views = overviewViewDays(rows, figures, visitorRollupDays(visitorRows, q), q);
      return buildOverview(views, sessionDays(live, rollups));
    },

    async entryPages(query) {
      const q = checkQuery(query, 'entryPages');
      const committed = await committedRun(c);
      const [live, rollups] = await Promise.all([
        liveIn(q, committed),
        sessionRollupRows(c, q, botsFor(q), committed),
      ]);
      return entryPagesOf(live, q.limit, rollups);
    },

    async exitPages(query) {
      const q = checkQuery(query, 'exitPages');
      const committed = await committedRun(c);
      const [live, rollups] = await Promise.all([
        liveIn(q, committed),
        sessionRollupRows(c, q, botsFor(q), committed),
      ]);
      return exitPagesOf(live, q.limit, rollups);
    },

    async countries(query) {
      const q = checkQuery(query, 'countries');
      const committed = await committedRun(c);
      const [live, rollups] = await Promise.all([
        liveIn(q, committed),
        sessionRollupRows(c, q, botsFor(q), committed),
      ]);
      return countriesOf(live, q.limit, rollups);
    },

    async aggregates(query): Promise<DailyAggregate[]> {
      const q = checkQuery(query, 'aggregates');
      const docs = await c.dailyPages
        .aggregate([
          { $match: await rowMatch(q) },
          { $sort: { day: 1, path: 1 } },
          ...(q.limited ? limitStage(q.limit) : []),
        ])
        .toArray();
      const rows = docs
        .map(toAggregate)
        .sort((a, b) => compareCodePoints(a.day, b.day) || compareCodePoints(a.path, b.path));
      return q.limited ? rows.slice(0, q.limit) : rows;
    },
  };
}

/** An aggregate document as the domain row (the `_id` and batch markers left out). */
export function toAggregate(doc: MongoDocument): DailyAggregate {
  const row = {} as Record<string, unknown>;
  for (const field of AGGREGATE_FIELDS) {
    row[field] = field === 'day' || field === 'path' ? String(doc[field]) : Number(doc[field] ?? 0);
  }
  return row as unknown as DailyAggregate;
}

function collectionName(c: Collections, key: CollectionKey): string {
  return c.names[key];
}
