import type { DeviceType, SessionRollup, VisitorRollup } from '@anon/core';
import { type BotSelection, rollupsIn, SESSION_ROLLUP_KEY_FIELDS } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { type CheckedQuery, dayRange, withPath } from './report-query.js';
import { literal } from './session-merge.js';
import { upsertOnce } from './upsert-once.js';

// Rollup rows are incremented by a purge in two steps, so that a purge interrupted anywhere (MongoDB has no
// multi-document transaction here) folds each session exactly once and reports never see it twice:
//
// 1. fold: each row receives the run's increment as an entry `{ run, ...sums }` of its `pending` array, in one
//    single-document update filtered on the entry's absence (a replay matches nothing and its upsert hits
//    E11000: done). Reports ignore pending entries of a run that has not committed.
// 2. once the run is committed (one update of its run document), reports add its entries and leave out the
//    sessions and page views it marked; `settle` then moves each row's entry into its sums, again in one
//    single-document update, and the marked records are deleted.

/** The summed fields of a session rollup row. */
export const SESSION_ROLLUP_SUMS = ['sessions', 'pageViews', 'bounces', 'durationMs'] as const;
/** The summed fields of a visitor rollup row. */
export const VISITOR_ROLLUP_SUMS = ['visitors', 'visitorsWithBots'] as const;

/** Runs whose settlement a row remembers, so a late fold of a run already settled is refused. */
const SETTLED_KEPT = 20;

/** One row's increment: its `_id`, the key fields repeated beside it (for indexes and reports) and the sums. */
export interface RollupDelta {
  id: MongoDocument;
  fields: MongoDocument;
  sums: Record<string, number>;
}

/** The `_id` of a session rollup row: its key fields as values, in key order (MongoDB compares in order). */
export function sessionRollupDelta(row: SessionRollup): RollupDelta {
  const id: MongoDocument = {};
  for (const field of SESSION_ROLLUP_KEY_FIELDS) id[field] = row[field];
  const sums: Record<string, number> = {};
  for (const field of SESSION_ROLLUP_SUMS) sums[field] = row[field];
  return { id, fields: { ...id }, sums };
}

/** A visitor rollup row's increment, `_id: { day, path }` (`path` null for the whole site). */
export function visitorRollupDelta(row: VisitorRollup): RollupDelta {
  return {
    id: { day: row.day, path: row.path },
    fields: { day: row.day, path: row.path },
    sums: { visitors: row.visitors, visitorsWithBots: row.visitorsWithBots },
  };
}

/**
 * Add run `run`'s increments as pending entries, once per row whatever the number of attempts: each upsert is
 * filtered on the row holding neither an entry of the run nor a record of having settled it.
 */
export async function addPending(
  collection: MongoCollectionLike,
  run: string,
  deltas: RollupDelta[],
  sumFields: readonly string[],
): Promise<void> {
  const zeros: MongoDocument = {};
  for (const field of sumFields) zeros[field] = 0;
  const reached = { $or: [{ 'pending.run': run }, { settledRuns: run }] };
  await upsertOnce(collection, deltas, {
    op: (delta) => ({
      filter: { _id: delta.id, 'pending.run': { $ne: run }, settledRuns: { $ne: run } },
      update: { $setOnInsert: { ...delta.fields, ...zeros }, $push: { pending: { run, ...delta.sums } } },
      upsert: true,
    }),
    id: (delta) => delta.id,
    done: reached,
    what: `rollups of purge ${run}`,
  });
}

/**
 * Move run `run`'s pending entries into the sums of every row holding one, each row in one atomic update;
 * the row remembers the run (the last {@link SETTLED_KEPT}) so that no late fold of it lands again.
 */
export async function settle(
  collection: MongoCollectionLike,
  run: string,
  sumFields: readonly string[],
): Promise<void> {
  const ofRun = { $filter: { input: '$pending', cond: { $eq: ['$$this.run', literal(run)] } } };
  const others = { $filter: { input: '$pending', cond: { $ne: ['$$this.run', literal(run)] } } };
  const set: MongoDocument = {};
  for (const field of sumFields) {
    set[field] = { $add: [`$${field}`, { $sum: { $map: { input: ofRun, in: `$$this.${field}` } } }] };
  }
  // An empty `pending` is removed, so the sparse index on `pending.run` holds only rows with work left.
  set.pending = { $cond: [{ $eq: [{ $size: others }, 0] }, '$$REMOVE', others] };
  set.settledRuns = {
    $slice: [{ $concatArrays: [{ $ifNull: ['$settledRuns', []] }, [literal(run)]] }, -SETTLED_KEPT],
  };
  await collection.updateMany({ 'pending.run': run }, [{ $set: set }]);
}

/** A sum as reports read it: the settled value plus the pending entries of the committed run, if any. */
function effective(field: string, committed: string | null): unknown {
  if (committed === null) return `$${field}`;
  const ofRun = {
    $filter: { input: { $ifNull: ['$pending', []] }, cond: { $eq: ['$$this.run', literal(committed)] } },
  };
  return { $add: [`$${field}`, { $sum: { $map: { input: ofRun, in: `$$this.${field}` } } }] };
}

/**
 * The stages selecting session rollup rows for a report as it selects live sessions (day in range, landing
 * page matching, bots as `bots` says), each row with its effective sums; rows still at 0 sessions left out.
 */
export async function sessionRollupStages(
  c: Collections,
  q: CheckedQuery,
  bots: BotSelection,
  committed: string | null,
): Promise<MongoDocument[]> {
  const match: MongoDocument = { day: dayRange(q) };
  if (bots === 'exclude') match.isBot = false;
  if (bots === 'only') match.isBot = true;
  const project: MongoDocument = { _id: 0 };
  for (const field of SESSION_ROLLUP_KEY_FIELDS) project[field] = 1;
  for (const field of SESSION_ROLLUP_SUMS) project[field] = effective(field, committed);
  return [
    { $match: await withPath(c.sessionRollups, match, 'landingPath', q.path) },
    { $project: project },
    { $match: { sessions: { $gt: 0 } } },
  ];
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Session rollup rows for a report, read whole (the reports built on live sessions merge them in core). */
export async function sessionRollupRows(
  c: Collections,
  q: CheckedQuery,
  bots: BotSelection,
  committed: string | null,
): Promise<SessionRollup[]> {
  const docs = await c.sessionRollups.aggregate(await sessionRollupStages(c, q, bots, committed)).toArray();
  const rows = docs.map(
    (doc): SessionRollup => ({
      day: String(doc.day),
      landingPath: String(doc.landingPath),
      exitPath: String(doc.exitPath),
      isBot: doc.isBot === true,
      authenticated: doc.authenticated === true,
      visitor: doc.visitor === true,
      referrerHost: text(doc.referrerHost),
      utmSource: text(doc.utmSource),
      utmMedium: text(doc.utmMedium),
      utmCampaign: text(doc.utmCampaign),
      device: String(doc.device) as DeviceType,
      browser: text(doc.browser),
      os: text(doc.os),
      country: text(doc.country),
      sessions: Number(doc.sessions),
      pageViews: Number(doc.pageViews),
      bounces: Number(doc.bounces),
      durationMs: Number(doc.durationMs),
    }),
  );
  // The server narrowed; core's rule decides.
  return rollupsIn(rows, q, bots);
}

/**
 * Visitor rollup rows for `overview` under `q`: the day's `path: null` row without a path filter, the rows of
 * the matching paths with one (core's `visitorRollupDays` sums them).
 */
export async function visitorRollupRows(
  c: Collections,
  q: CheckedQuery,
  committed: string | null,
): Promise<VisitorRollup[]> {
  const match: MongoDocument =
    q.path === null
      ? { day: dayRange(q), path: null }
      : await withPath(c.visitorRollups, { day: dayRange(q), path: { $ne: null } }, 'path', q.path);
  const docs = await c.visitorRollups
    .aggregate([
      { $match: match },
      {
        $project: {
          _id: 0,
          day: 1,
          path: 1,
          visitors: effective('visitors', committed),
          visitorsWithBots: effective('visitorsWithBots', committed),
        },
      },
    ])
    .toArray();
  return docs.map((doc) => ({
    day: String(doc.day),
    path: text(doc.path),
    visitors: Number(doc.visitors),
    visitorsWithBots: Number(doc.visitorsWithBots),
  }));
}
