import type {
  Conversion,
  DailyAggregate,
  EventBatch,
  PageMetric,
  PageView,
  Session,
  WriteResult,
} from '@anon/core';
import { applyMetric, applyView, checkBatch, emptyAggregate } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoCollectionLike, MongoDocument, MongoUpdateOneModel } from './db-like.js';
import { duplicateKeyIndexes, isDuplicateKeyError, mongoError, SOURCE } from './errors.js';
import { CONVERSION_SHAPE, METRIC_SHAPE, PAGE_VIEW_SHAPE, pick, SESSION_SHAPE } from './schema.js';
import { literal, sessionMergePipeline } from './session-merge.js';

const DAY_MS = 86_400_000;
const METRICS = new Set(['time_on_page', 'scroll_depth', 'interactions']);
/** Cap on the batch markers an aggregate row keeps (they are removed once the batch is in the ledger). */
const MAX_PENDING_MARKERS = 1_000;
/** Upserts of one aggregate row that lose a race to a concurrent insert are retried this many times. */
const MAX_AGGREGATE_ATTEMPTS = 5;

/** What `write` needs besides the batch. */
export interface WriteContext {
  collections: Collections;
  /** Retention: the TTL of unique-visitor entries and ledger entries. */
  retentionMs: number;
  /**
   * The TTL of anonymous sessions, their page views and metrics: retention plus a grace, so that the daily
   * purge, which folds what it removes into rollups, removes them first; the TTL is only the backstop.
   */
  expiryMs: number;
  /** Wall clock, for the ledger's own expiry only. */
  now(): number;
}

interface Parsed {
  views: Map<string, PageView>;
  metrics: Map<string, PageMetric>;
  sessions: Session[];
  conversions: Map<string, Conversion>;
}

/**
 * Apply one batch exactly once, without a multi-document transaction (a standalone MongoDB has none):
 *
 * 1. A batch id in the ledger is done: nothing changes.
 * 2. Page views, metrics and conversions are upserted with `$setOnInsert`, stamped with the batch id that
 *    inserted them; sessions are merged by an update pipeline (monotone, so a replay changes nothing).
 * 3. The records this batch owns are those stamped with its id. That is what a crashed attempt of the same
 *    batch inserted too, so a replay derives exactly the same aggregate increments.
 * 4. Each aggregate row is incremented together with a marker of the batch in one single-document update
 *    (atomic in MongoDB), filtered on the marker's absence: a replay cannot increment a row twice.
 * 5. Conversions link their sessions, and records of sessions that are kept lose their TTL field.
 * 6. The ledger entry is written LAST, then the markers are removed.
 *
 * A crash between any two steps leaves the batch out of the ledger; the queue redelivers it and the replay
 * completes the missing steps, each of which is idempotent.
 */
export async function writeBatch(ctx: WriteContext, batch: EventBatch): Promise<WriteResult> {
  checkBatch(batch, SOURCE);
  const parsed = parseEvents(batch);
  const c = ctx.collections;
  const done = await c.batches.find({ _id: batch.id }, { projection: { _id: 1 } }).toArray();
  if (done.length > 0) return { applied: false, written: 0 };

  const [views, metrics, conversions, sessionsChanged] = await Promise.all([
    insertOwned(c.pageViews, batch.id, viewDocuments(parsed, ctx.expiryMs)),
    insertOwned(c.metrics, batch.id, metricDocuments(parsed, ctx.expiryMs)),
    insertOwned(c.conversions, batch.id, conversionDocuments(parsed)),
    mergeSessions(c.sessions, parsed.sessions, ctx.expiryMs),
  ]);
  const ownedViews = [...parsed.views.values()].filter((view) => views.has(view.id));
  const ownedMetrics = [...parsed.metrics.entries()]
    .filter(([id]) => metrics.has(id))
    .map(([, metric]) => metric);
  const ownedConversions = [...parsed.conversions.values()].filter((conversion) =>
    conversions.has(conversion.id),
  );

  const uniques = await insertUniques(c.uniqueVisitors, batch.id, ownedViews, ctx.retentionMs);
  const deltas = aggregateDeltas(ownedViews, ownedMetrics, uniques);
  await applyAggregates(c.dailyPages, batch.id, deltas);
  await linkConversions(c.sessions, ownedConversions);
  await keepRetained(c, parsed, ownedViews, ownedMetrics);

  try {
    await c.batches.insertOne({ _id: batch.id, expireAt: new Date(ctx.now() + ctx.retentionMs) });
  } catch (error) {
    // Another worker applied the same batch at the same time; every step above was idempotent.
    if (!isDuplicateKeyError(error)) throw error;
    return { applied: false, written: 0 };
  }
  if (deltas.length > 0) {
    const rows = deltas.map((delta) => ({ day: delta.day, path: delta.path }));
    await c.dailyPages.updateMany({ _id: { $in: rows } }, { $pull: { pendingBatches: batch.id } });
  }
  return {
    applied: true,
    written: ownedViews.length + ownedMetrics.length + ownedConversions.length + sessionsChanged,
  };
}

function parseEvents(batch: EventBatch): Parsed {
  const parsed: Parsed = { views: new Map(), metrics: new Map(), sessions: [], conversions: new Map() };
  batch.events.forEach((event, index) => {
    const what = `event ${index} of batch ${batch.id}`;
    if (typeof event !== 'object' || event === null)
      throw mongoError('invalid_input', `${what} is not an object`);
    switch (event.type) {
      case 'pageview': {
        const view = { ...pick(PAGE_VIEW_SHAPE, event.view, what), id: event.view?.id } as PageView;
        if (typeof view.id !== 'string' || view.id === '')
          throw mongoError('invalid_input', `${what} has no view id`);
        // First write wins, within a batch as across batches.
        if (!parsed.views.has(view.id)) parsed.views.set(view.id, view);
        break;
      }
      case 'metric': {
        const metric = pick(METRIC_SHAPE, event.metric, what) as unknown as PageMetric;
        if (!METRICS.has(metric.metric)) throw mongoError('invalid_input', `${what} has an unknown metric`);
        const id = `${metric.viewId}:${metric.metric}`;
        if (!parsed.metrics.has(id)) parsed.metrics.set(id, metric);
        break;
      }
      case 'session': {
        const session = { ...pick(SESSION_SHAPE, event.session, what), id: event.session?.id } as Session;
        if (typeof session.id !== 'string' || session.id === '') {
          throw mongoError('invalid_input', `${what} has no session id`);
        }
        parsed.sessions.push(session);
        break;
      }
      case 'conversion': {
        const conversion = { ...pick(CONVERSION_SHAPE, event.conversion, what), id: event.conversion?.id };
        if (typeof conversion.id !== 'string' || conversion.id === '') {
          throw mongoError('invalid_input', `${what} has no conversion id`);
        }
        if (!parsed.conversions.has(conversion.id))
          parsed.conversions.set(conversion.id, conversion as Conversion);
        break;
      }
      default:
        // checkBatch has refused every other type (`identify` included) before this runs.
        throw mongoError('invalid_input', `${what} has an unknown type`);
    }
  });
  return parsed;
}

interface Insert {
  _id: unknown;
  /** Canonical string form of `_id`, to compare ids across round trips. */
  key: string;
  fields: MongoDocument;
}

function viewDocuments(parsed: Parsed, expiryMs: number): Insert[] {
  return [...parsed.views.values()].map((view) => {
    const { id, ...fields } = view as PageView & MongoDocument;
    // Anonymous views expire; views of sessions that turn out to be kept lose this in keepRetained().
    const expires = view.sessionId === null || view.userId === null;
    return {
      _id: id,
      key: id,
      fields: expires ? { ...fields, expireAt: new Date(view.at + expiryMs) } : fields,
    };
  });
}

function metricDocuments(parsed: Parsed, expiryMs: number): Insert[] {
  return [...parsed.metrics.entries()].map(([id, metric]) => ({
    _id: id,
    key: id,
    fields: { ...metric, expireAt: new Date(metric.at + expiryMs) },
  }));
}

function conversionDocuments(parsed: Parsed): Insert[] {
  return [...parsed.conversions.values()].map((conversion) => {
    const { id, ...fields } = conversion as Conversion & MongoDocument;
    return { _id: id, key: id, fields };
  });
}

/**
 * Upsert each document with `$setOnInsert` (plus the batch stamp) and return the keys this batch owns: those
 * it inserted now, and those a crashed earlier attempt of the same batch inserted.
 */
async function insertOwned(
  collection: MongoCollectionLike,
  batchId: string,
  inserts: Insert[],
): Promise<Set<string>> {
  const owned = new Set<string>();
  if (inserts.length === 0) return owned;
  const ops: MongoUpdateOneModel[] = inserts.map((insert) => ({
    updateOne: {
      filter: { _id: insert._id },
      update: { $setOnInsert: { ...insert.fields, batch: batchId } },
      upsert: true,
    },
  }));
  let unknown = inserts;
  try {
    const result = await collection.bulkWrite(ops, { ordered: false });
    for (const index of Object.keys(result.upsertedIds ?? {})) owned.add(inserts[Number(index)]!.key);
    unknown = inserts.filter((insert) => !owned.has(insert.key));
  } catch (error) {
    // Two writers inserting the same id: the loser sees E11000. Ownership is settled by the stamp below.
    if (duplicateKeyIndexes(error) === null) throw error;
  }
  if (unknown.length > 0) {
    const stamped = await collection
      .find({ _id: { $in: unknown.map((insert) => insert._id) }, batch: batchId }, { projection: { _id: 1 } })
      .toArray();
    const keys = new Map(unknown.map((insert) => [canonical(insert._id), insert.key]));
    for (const doc of stamped) {
      const key = keys.get(canonical(doc._id));
      if (key !== undefined) owned.add(key);
    }
  }
  return owned;
}

/** A stable text form of an `_id` (strings, or documents built by this module with a fixed field order). */
function canonical(id: unknown): string {
  return typeof id === 'string' ? id : JSON.stringify(id);
}

/** Merge every session summary of the batch, in order; returns how many documents changed. */
async function mergeSessions(
  collection: MongoCollectionLike,
  sessions: Session[],
  retentionMs: number,
): Promise<number> {
  if (sessions.length === 0) return 0;
  const ops: MongoUpdateOneModel[] = sessions.map((session) => ({
    updateOne: {
      filter: { _id: session.id },
      update: sessionMergePipeline(session, retentionMs),
      upsert: true,
    },
  }));
  // Ordered: "every other field is kept from the first write" depends on the order of writes of one session.
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await collection.bulkWrite(ops, { ordered: true });
      return result.upsertedCount + result.modifiedCount;
    } catch (error) {
      // A concurrent first insert of the same session: the merge is monotone, so running it again is safe.
      if (duplicateKeyIndexes(error) === null || attempt >= MAX_AGGREGATE_ATTEMPTS) throw error;
    }
  }
}

/** Unique-visitor keys `(day, path, visitorKey)` this batch inserted, as `day\0path` → count. */
async function insertUniques(
  collection: MongoCollectionLike,
  batchId: string,
  views: PageView[],
  retentionMs: number,
): Promise<Map<string, number>> {
  const inserts = new Map<string, Insert>();
  for (const view of views) {
    if (view.isBot || view.visitorKey === null) continue;
    const _id = { day: view.day, path: view.path, visitorKey: view.visitorKey };
    const key = JSON.stringify(_id);
    if (!inserts.has(key)) {
      inserts.set(key, {
        _id,
        key,
        fields: { day: view.day, expireAt: new Date(view.at + retentionMs + DAY_MS) },
      });
    }
  }
  const owned = await insertOwned(collection, batchId, [...inserts.values()]);
  const counts = new Map<string, number>();
  for (const insert of inserts.values()) {
    if (!owned.has(insert.key)) continue;
    const { day, path } = insert._id as { day: string; path: string };
    const row = rowKey(day, path);
    counts.set(row, (counts.get(row) ?? 0) + 1);
  }
  return counts;
}

function rowKey(day: string, path: string): string {
  return `${day}\u0000${path}`;
}

interface Delta {
  day: string;
  path: string;
  inc: Omit<DailyAggregate, 'day' | 'path'>;
}

/**
 * The increments this batch's newly owned views and metrics make, by core's `applyView` / `applyMetric` (the
 * same rule as every store); unique visitors come from the `(day, path, visitorKey)` entries it inserted.
 */
function aggregateDeltas(views: PageView[], metrics: PageMetric[], uniques: Map<string, number>): Delta[] {
  const rows = new Map<string, DailyAggregate>();
  const row = (day: string, path: string): DailyAggregate => {
    const key = rowKey(day, path);
    let found = rows.get(key);
    if (found === undefined) {
      found = emptyAggregate(day, path);
      rows.set(key, found);
    }
    return found;
  };
  // Uniqueness is decided by the insert into the unique-visitor collection, not here.
  for (const view of views) applyView(row(view.day, view.path), view, false);
  for (const metric of metrics) if (!metric.isBot) applyMetric(row(metric.day, metric.path), metric);
  for (const [key, count] of uniques) {
    const [day, path] = key.split('\u0000', 2) as [string, string];
    row(day, path).uniqueVisitors += count;
  }
  return [...rows.values()].map(({ day, path, ...inc }) => ({ day, path, inc }));
}

/**
 * Increment each aggregate row and mark it with the batch id in one atomic update. The filter excludes rows
 * already marked, so on a replay the upsert finds no match and tries to insert: E11000. A duplicate is either
 * that (done) or a concurrent writer having created the row first (retry): the marker tells which.
 */
async function applyAggregates(
  collection: MongoCollectionLike,
  batchId: string,
  deltas: Delta[],
): Promise<void> {
  let pending = deltas;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= MAX_AGGREGATE_ATTEMPTS) {
      throw mongoError(
        'store_failed',
        `aggregates of batch ${batchId} kept conflicting after ${attempt} attempts`,
      );
    }
    const ops: MongoUpdateOneModel[] = pending.map((delta) => ({
      updateOne: {
        filter: { _id: { day: delta.day, path: delta.path }, pendingBatches: { $ne: batchId } },
        update: {
          $inc: delta.inc,
          $setOnInsert: { day: delta.day, path: delta.path },
          $push: { pendingBatches: { $each: [batchId], $slice: -MAX_PENDING_MARKERS } },
        },
        upsert: true,
      },
    }));
    let duplicates: Set<number>;
    try {
      await collection.bulkWrite(ops, { ordered: false });
      return;
    } catch (error) {
      const indexes = duplicateKeyIndexes(error);
      if (indexes === null) throw error;
      duplicates = indexes;
    }
    const suspects = pending.filter((_, index) => duplicates.has(index));
    const marked = await collection
      .find(
        {
          _id: { $in: suspects.map((delta) => ({ day: delta.day, path: delta.path })) },
          pendingBatches: batchId,
        },
        { projection: { day: 1, path: 1 } },
      )
      .toArray();
    const done = new Set(marked.map((doc) => rowKey(String(doc.day), String(doc.path))));
    pending = suspects.filter((delta) => !done.has(rowKey(delta.day, delta.path)));
  }
}

/** Sessions of a newly stored conversion with no `convertedUserId` get it (and stop expiring). */
async function linkConversions(sessions: MongoCollectionLike, conversions: Conversion[]): Promise<void> {
  for (const conversion of conversions) {
    if (conversion.sessionIds.length === 0) continue;
    const unconverted = { $eq: [{ $ifNull: ['$convertedUserId', null] }, null] };
    await sessions.updateMany({ _id: { $in: conversion.sessionIds } }, [
      {
        $set: {
          convertedUserId: { $cond: [unconverted, literal(conversion.userId), '$convertedUserId'] },
          convertedAt: { $cond: [unconverted, literal(conversion.at), '$convertedAt'] },
        },
      },
      { $unset: 'expireAt' },
    ]);
  }
}

/**
 * Retention: anonymous sessions and their page views and metrics carry `expireAt` (TTL); anything of a kept
 * session (a user, a conversion) must not. Each write checks after writing, so that of two concurrent batches
 * (one storing a view, one making its session kept) the later check always sees the other's write.
 */
async function keepRetained(
  c: Collections,
  parsed: Parsed,
  views: PageView[],
  metrics: PageMetric[],
): Promise<void> {
  const batchSessions = [...new Set(parsed.sessions.map((session) => session.id))];
  if (batchSessions.length > 0) {
    // A session written after the conversion that names it.
    const named = await c.conversions
      .find({ sessionIds: { $in: batchSessions } }, { projection: { sessionIds: 1 } })
      .toArray();
    const wanted = new Set(batchSessions);
    const inConversion = named.flatMap((doc) => (doc.sessionIds as string[]).filter((id) => wanted.has(id)));
    if (inConversion.length > 0) {
      await c.sessions.updateMany({ _id: { $in: [...new Set(inConversion)] } }, { $unset: { expireAt: '' } });
    }
  }
  const touched = new Set<string>(batchSessions);
  for (const view of views) if (view.sessionId !== null) touched.add(view.sessionId);
  for (const metric of metrics) if (metric.sessionId !== null) touched.add(metric.sessionId);
  for (const conversion of parsed.conversions.values())
    for (const id of conversion.sessionIds) touched.add(id);
  if (touched.size === 0) return;
  const kept = await c.sessions
    .find({ _id: { $in: [...touched] }, expireAt: { $exists: false } }, { projection: { _id: 1 } })
    .toArray();
  if (kept.length === 0) return;
  const ids = kept.map((doc) => doc._id);
  const filter = { sessionId: { $in: ids }, expireAt: { $exists: true } };
  await Promise.all([
    c.pageViews.updateMany(filter, { $unset: { expireAt: '' } }),
    c.metrics.updateMany(filter, { $unset: { expireAt: '' } }),
  ]);
}
