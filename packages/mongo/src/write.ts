import type {
  BotSession,
  Conversion,
  DailyAggregate,
  EventBatch,
  PageMetric,
  PageView,
  Session,
  WriteResult,
} from '@anon/core';
import {
  applyMetric,
  applyView,
  checkBatch,
  emptyAggregate,
  moveViewToBots,
  removeMetric,
  withRateReason,
} from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoCollectionLike, MongoDocument, MongoUpdateManyModel, MongoWriteModel } from './db-like.js';
import { duplicateKeyIndexes, isDuplicateKeyError, mongoError, SOURCE } from './errors.js';
import {
  BOT_SESSION_SHAPE,
  CONVERSION_SHAPE,
  METRIC_SHAPE,
  PAGE_VIEW_SHAPE,
  pick,
  SESSION_SHAPE,
} from './schema.js';
import { literal, sessionMergePipeline } from './session-merge.js';
import {
  applyEntryChanges,
  EntryChanges,
  type EntryEffects,
  rowKey,
  settleEntries,
} from './unique-visitors.js';
import { canonicalId, upsertOnce } from './upsert-once.js';

const DAY_MS = 86_400_000;
const METRICS = new Set(['time_on_page', 'scroll_depth', 'interactions']);
/** Cap on the batch markers an aggregate row keeps (they are removed once the batch is in the ledger). */
const MAX_PENDING_MARKERS = 1_000;
/** Ordered session merges that lose a race to a concurrent first insert are retried this many times. */
const MAX_SESSION_ATTEMPTS = 5;

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
  /** `botsession` events, by session id. */
  botSessions: Map<string, BotSession>;
}

/**
 * A record this batch owns (it inserted it, in this attempt or a crashed one), as it was inserted — the
 * aggregates counted it so — and whether it is stored as a bot now.
 */
interface Owned<T> {
  inserted: T;
  botNow: boolean;
}

/** Page views and metrics this batch moved to the bots (`flaggedBy: <batch id>`), as the aggregates need them. */
interface Moved {
  views: Pick<PageView, 'day' | 'path' | 'authenticated' | 'device' | 'visitorKey' | 'at'>[];
  metrics: Pick<PageMetric, 'day' | 'path' | 'metric' | 'value'>[];
}

const NOTHING_MOVED: Moved = { views: [], metrics: [] };

/**
 * Apply one batch exactly once, without a multi-document transaction (a standalone MongoDB has none):
 *
 * 1. A batch id in the ledger is done: nothing changes.
 * 2. Page views, metrics, conversions and bot-session flags are upserted with `$setOnInsert`, stamped with the
 *    batch id that inserted them; sessions are merged by an update pipeline (monotone, so a replay changes
 *    nothing). Rows and summaries of a session already flagged bot are written as bots.
 * 3. Sessions: conversions link theirs, sessions a conversion names stop expiring, summaries of flagged
 *    sessions become bots. Page views and metrics: those of kept sessions stop expiring, and the stored human
 *    rows of the sessions the batch flags (its `botsession` events), or of flagged sessions it wrote human
 *    rows of (a flag written concurrently), move to the bots, each row in one update (`isBot: false` →
 *    `true`, stamped `flaggedBy: <batch id>`), so each moves once.
 * 4. The records this batch owns are those stamped with its id, and the rows it moved those stamped
 *    `flaggedBy` it: a crashed attempt's too, so a replay derives exactly the same increments.
 * 5. Unique-visitor entries, then aggregate rows, are changed each in one single-document update carrying a
 *    record of the batch, filtered on (or deciding on) its absence: a replay cannot count twice.
 * 6. The ledger entry is written LAST, then the batch's records on rows and entries are removed.
 *
 * A crash between any two steps leaves the batch out of the ledger; the queue redelivers it and the replay
 * completes the missing steps, each of which is idempotent. A replay moves rows (step 3) only while none of
 * the batch's increments (step 5) has landed, so the increments of an attempt never change once applied.
 */
export async function writeBatch(ctx: WriteContext, batch: EventBatch): Promise<WriteResult> {
  checkBatch(batch, SOURCE);
  const parsed = parseEvents(batch);
  const c = ctx.collections;
  const touched = sessionsOf(parsed);
  const [done, flaggedBefore] = await Promise.all([
    c.batches.find({ _id: batch.id }, { projection: { _id: 1 } }).toArray(),
    flaggedAmong(c, touched),
  ]);
  if (done.length > 0) return { applied: false, written: 0 };
  for (const id of parsed.botSessions.keys()) flaggedBefore.add(id);
  writeAsBots(parsed, flaggedBefore);

  const [views, metrics, conversions, botSessions, sessionsChanged] = await Promise.all([
    insertOwned(c.pageViews, batch.id, viewDocuments(parsed, ctx.expiryMs), BOT_STATE),
    insertOwned(c.metrics, batch.id, metricDocuments(parsed, ctx.expiryMs), BOT_STATE),
    insertOwned(c.conversions, batch.id, conversionDocuments(parsed)),
    insertOwned(c.botSessions, batch.id, botSessionDocuments(parsed, ctx.expiryMs)),
    mergeSessions(c.sessions, parsed.sessions, ctx.expiryMs),
  ]);
  const ownedViews = owned(parsed.views, views);
  const ownedMetrics = owned(parsed.metrics, metrics);
  const ownedConversions = [...parsed.conversions.values()].filter((conversion) =>
    conversions.has(conversion.id),
  );

  // Checked after writing (the flag's writer checks the rows after writing it): of a flag and a row written
  // concurrently, at least one side sees the other. The same holds for a conversion and a session it names.
  const summaryIds = [...new Set(parsed.sessions.map((session) => session.id))];
  const [flaggedAfter, named] = await Promise.all([
    flaggedAmong(c, touched),
    namedByConversions(c, summaryIds),
  ]);
  await updateSessions(
    c.sessions,
    ownedConversions,
    named,
    summariesToFlag(parsed, flaggedBefore, flaggedAfter),
  );
  const kept = await keptSessions(c, parsed, summaryIds, ownedViews, ownedMetrics);
  const moved = await updateRows(c, batch.id, parsed, flaggedAfter, ownedViews, ownedMetrics, kept);

  const entries = entryChanges(ownedViews, moved, ctx.retentionMs).list();
  const effects = await applyEntryChanges(c.uniqueVisitors, batch.id, entries);
  const deltas = aggregateDeltas(ownedViews, ownedMetrics, moved, effects);
  await applyAggregates(c.dailyPages, batch.id, deltas);

  try {
    await c.batches.insertOne({ _id: batch.id, expireAt: new Date(ctx.now() + ctx.retentionMs) });
  } catch (error) {
    // Another worker applied the same batch at the same time; every step above was idempotent.
    if (!isDuplicateKeyError(error)) throw error;
    return { applied: false, written: 0 };
  }
  await Promise.all([
    deltas.length === 0
      ? undefined
      : c.dailyPages.updateMany(
          { _id: { $in: deltas.map((delta) => ({ day: delta.day, path: delta.path })) } },
          { $pull: { pendingBatches: batch.id } },
        ),
    settleEntries(c.uniqueVisitors, batch.id, entries, effects.zeros),
  ]);
  return {
    applied: true,
    written: views.size + metrics.size + ownedConversions.length + botSessions.size + sessionsChanged,
  };
}

function parseEvents(batch: EventBatch): Parsed {
  const parsed: Parsed = {
    views: new Map(),
    metrics: new Map(),
    sessions: [],
    conversions: new Map(),
    botSessions: new Map(),
  };
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
      case 'botsession': {
        // checkBatch has checked the session id and the time; the shape check keeps any other field out.
        const flagged = pick(BOT_SESSION_SHAPE, event.botSession, what) as unknown as BotSession;
        if (!parsed.botSessions.has(flagged.sessionId)) parsed.botSessions.set(flagged.sessionId, flagged);
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

/** Every session the batch writes a row, a summary or a flag of. */
function sessionsOf(parsed: Parsed): string[] {
  const ids = new Set<string>(parsed.botSessions.keys());
  for (const view of parsed.views.values()) if (view.sessionId !== null) ids.add(view.sessionId);
  for (const metric of parsed.metrics.values()) if (metric.sessionId !== null) ids.add(metric.sessionId);
  for (const session of parsed.sessions) ids.add(session.id);
  return [...ids];
}

/** Which of `ids` are flagged bot sessions. */
async function flaggedAmong(c: Collections, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const docs = await c.botSessions.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
  return new Set(docs.map((doc) => String(doc._id)));
}

/** Rows and summaries of flagged sessions are written as bots (a page view with the reason `'rate'`). */
function writeAsBots(parsed: Parsed, flagged: Set<string>): void {
  if (flagged.size === 0) return;
  const of = (sessionId: string | null) => sessionId !== null && flagged.has(sessionId);
  for (const [id, view] of parsed.views) {
    if (!view.isBot && of(view.sessionId)) {
      parsed.views.set(id, { ...view, isBot: true, botReasons: withRateReason(view.botReasons) });
    }
  }
  for (const [id, metric] of parsed.metrics) {
    if (!metric.isBot && of(metric.sessionId)) parsed.metrics.set(id, { ...metric, isBot: true });
  }
  parsed.sessions = parsed.sessions.map((s) => (!s.isBot && flagged.has(s.id) ? { ...s, isBot: true } : s));
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
    // Anonymous views expire; views of sessions that turn out to be kept lose this in updateRows().
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

/** A flag is needed while rows of its session can still arrive: it expires with the session's own records. */
function botSessionDocuments(parsed: Parsed, expiryMs: number): Insert[] {
  return [...parsed.botSessions.values()].map((flagged) => ({
    _id: flagged.sessionId,
    key: flagged.sessionId,
    fields: { day: flagged.day, at: flagged.at, expireAt: new Date(flagged.at + expiryMs) },
  }));
}

/** What a page view or metric inserted by a crashed attempt says of its bot flag. */
const BOT_STATE: MongoDocument = { isBot: 1, flaggedBy: 1 };

/**
 * Upsert each document with `$setOnInsert` (plus the batch stamp) and return the keys this batch owns: those
 * it inserted now (→ null) and those a crashed earlier attempt of the same batch inserted (→ the stored
 * document, projected on `projection`).
 */
async function insertOwned(
  collection: MongoCollectionLike,
  batchId: string,
  inserts: Insert[],
  projection: MongoDocument = {},
): Promise<Map<string, MongoDocument | null>> {
  const owned = new Map<string, MongoDocument | null>();
  if (inserts.length === 0) return owned;
  const ops: MongoWriteModel[] = inserts.map((insert) => ({
    updateOne: {
      filter: { _id: insert._id },
      update: { $setOnInsert: { ...insert.fields, batch: batchId } },
      upsert: true,
    },
  }));
  let unknown = inserts;
  try {
    const result = await collection.bulkWrite(ops, { ordered: false });
    for (const index of Object.keys(result.upsertedIds ?? {})) owned.set(inserts[Number(index)]!.key, null);
    unknown = inserts.filter((insert) => !owned.has(insert.key));
  } catch (error) {
    // Two writers inserting the same id: the loser sees E11000. Ownership is settled by the stamp below.
    if (duplicateKeyIndexes(error) === null) throw error;
  }
  if (unknown.length > 0) {
    const stamped = await collection
      .find(
        { _id: { $in: unknown.map((insert) => insert._id) }, batch: batchId },
        { projection: { _id: 1, ...projection } },
      )
      .toArray();
    const keys = new Map(unknown.map((insert) => [canonicalId(insert._id), insert.key]));
    for (const doc of stamped) {
      const key = keys.get(canonicalId(doc._id));
      if (key !== undefined) owned.set(key, doc);
    }
  }
  return owned;
}

/**
 * The owned records of `parsed` with their state: one inserted now is as this attempt wrote it; one a crashed
 * attempt inserted is as stored (a bot stamped `flaggedBy` was inserted human and moved since).
 */
function owned<T extends PageView | PageMetric>(
  parsed: Map<string, T>,
  ownership: Map<string, MongoDocument | null>,
): Owned<T>[] {
  const out: Owned<T>[] = [];
  for (const [key, row] of parsed) {
    if (!ownership.has(key)) continue;
    const stored = ownership.get(key) ?? null;
    if (stored === null) {
      out.push({ inserted: row, botNow: row.isBot });
      continue;
    }
    const botNow = stored.isBot === true;
    const insertedBot = botNow && (stored.flaggedBy ?? null) === null;
    out.push({ inserted: { ...row, isBot: insertedBot }, botNow });
  }
  return out;
}

/** Merge every session summary of the batch, in order; returns how many documents changed. */
async function mergeSessions(
  collection: MongoCollectionLike,
  sessions: Session[],
  retentionMs: number,
): Promise<number> {
  if (sessions.length === 0) return 0;
  const ops: MongoWriteModel[] = sessions.map((session) => ({
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
      if (duplicateKeyIndexes(error) === null || attempt >= MAX_SESSION_ATTEMPTS) throw error;
    }
  }
}

/**
 * Step 3, with retention: one `bulkWrite` per collection of page views and metrics. Moves to the bots the
 * stored human rows of the sessions this batch flags (its `botsession` events) and of the flagged sessions it
 * stored human rows of (their flag was written while it wrote them); rows of sessions that are kept lose their
 * TTL. Returns every row this batch moved, in this attempt or a crashed one.
 *
 * A replay moves nothing new once any of the batch's increments has landed: its increments are fixed from
 * then on. Nothing is lost by that: a row stored after this batch's first complete pass was either stored
 * after the flag (written as a bot) or its writer, checking the flags after writing it, moves it.
 */
async function updateRows(
  c: Collections,
  batchId: string,
  parsed: Parsed,
  flagged: Set<string>,
  views: Owned<PageView>[],
  metrics: Owned<PageMetric>[],
  kept: string[],
): Promise<Moved> {
  const toMove = new Set(parsed.botSessions.keys());
  // A batch moves rows only of sessions it flags or that are flagged: with neither, no attempt of it moved any.
  let mayHaveMoved = toMove.size > 0;
  for (const row of [...views, ...metrics]) {
    const sessionId = row.inserted.sessionId;
    if (sessionId === null || !flagged.has(sessionId)) continue;
    mayHaveMoved = true;
    if (!row.botNow) toMove.add(sessionId);
  }
  let moved = mayHaveMoved ? await movedBy(c, batchId) : NOTHING_MOVED;
  if (toMove.size > 0) {
    const entries = entryChanges(views, moved, 0).list();
    const rows = aggregateDeltas(views, metrics, moved, { uniqueVisitors: new Map(), zeros: [] });
    if (await incrementsLanded(c, batchId, rows, entries)) toMove.clear();
  }
  const viewOps: MongoUpdateManyModel[] = [];
  const metricOps: MongoUpdateManyModel[] = [];
  if (toMove.size > 0) {
    const filter = { sessionId: { $in: [...toMove] }, isBot: false };
    viewOps.push({
      updateMany: {
        filter,
        update: { $set: { isBot: true, flaggedBy: batchId }, $addToSet: { botReasons: 'rate' } },
      },
    });
    metricOps.push({ updateMany: { filter, update: { $set: { isBot: true, flaggedBy: batchId } } } });
  }
  if (kept.length > 0) {
    const unset: MongoUpdateManyModel = {
      updateMany: {
        filter: { sessionId: { $in: kept }, expireAt: { $exists: true } },
        update: { $unset: { expireAt: '' } },
      },
    };
    viewOps.push(unset);
    metricOps.push(unset);
  }
  await Promise.all([
    viewOps.length === 0 ? undefined : c.pageViews.bulkWrite(viewOps, { ordered: false }),
    metricOps.length === 0 ? undefined : c.metrics.bulkWrite(metricOps, { ordered: false }),
  ]);
  if (toMove.size > 0) moved = await movedBy(c, batchId);
  return moved;
}

/** The rows stamped as moved by batch `batchId`. */
async function movedBy(c: Collections, batchId: string): Promise<Moved> {
  const [views, metrics] = await Promise.all([
    c.pageViews
      .find(
        { flaggedBy: batchId },
        { projection: { day: 1, path: 1, authenticated: 1, device: 1, visitorKey: 1, at: 1 } },
      )
      .toArray(),
    c.metrics
      .find({ flaggedBy: batchId }, { projection: { day: 1, path: 1, metric: 1, value: 1 } })
      .toArray(),
  ]);
  return { views: views as unknown as Moved['views'], metrics: metrics as unknown as Moved['metrics'] };
}

/** Whether any of the batch's increments (an entry's record, an aggregate row's marker) has landed. */
async function incrementsLanded(
  c: Collections,
  batchId: string,
  rows: Delta[],
  entries: { id: unknown }[],
): Promise<boolean> {
  const [row, entry] = await Promise.all([
    rows.length === 0
      ? []
      : c.dailyPages
          .find(
            { _id: { $in: rows.map((d) => ({ day: d.day, path: d.path })) }, pendingBatches: batchId },
            { projection: { _id: 1 } },
          )
          .toArray(),
    entries.length === 0
      ? []
      : c.uniqueVisitors
          .find({ _id: { $in: entries.map((e) => e.id) }, 'log.b': batchId }, { projection: { _id: 1 } })
          .toArray(),
  ]);
  return row.length > 0 || entry.length > 0;
}

/**
 * The summaries to mark bot: those of the sessions this batch flags (a summary may be stale, and reports that
 * select sessions by summary must see the bot at once), and those it merged as human of sessions found
 * flagged after writing them.
 */
function summariesToFlag(parsed: Parsed, before: Set<string>, after: Set<string>): string[] {
  const ids = new Set(parsed.botSessions.keys());
  for (const session of parsed.sessions) {
    if (after.has(session.id) && !before.has(session.id)) ids.add(session.id);
  }
  return [...ids];
}

/** Which of the batch's session summaries a stored conversion names (a session written after its conversion). */
async function namedByConversions(c: Collections, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const docs = await c.conversions
    .find({ sessionIds: { $in: ids } }, { projection: { sessionIds: 1 } })
    .toArray();
  const wanted = new Set(ids);
  return [...new Set(docs.flatMap((doc) => (doc.sessionIds as string[]).filter((id) => wanted.has(id))))];
}

/**
 * One unordered `bulkWrite` of the session updates that follow the inserts: sessions of a newly stored
 * conversion with no `convertedUserId` get it, and stop expiring, as do the batch's sessions a stored
 * conversion names; summaries to flag become bots.
 */
async function updateSessions(
  sessions: MongoCollectionLike,
  conversions: Conversion[],
  named: string[],
  flagged: string[],
): Promise<void> {
  const ops: MongoUpdateManyModel[] = [];
  const unconverted = { $eq: [{ $ifNull: ['$convertedUserId', null] }, null] };
  for (const conversion of conversions) {
    if (conversion.sessionIds.length === 0) continue;
    ops.push({
      updateMany: {
        filter: { _id: { $in: conversion.sessionIds } },
        update: [
          {
            $set: {
              convertedUserId: { $cond: [unconverted, literal(conversion.userId), '$convertedUserId'] },
              convertedAt: { $cond: [unconverted, literal(conversion.at), '$convertedAt'] },
            },
          },
          { $unset: 'expireAt' },
        ],
      },
    });
  }
  if (named.length > 0) {
    ops.push({ updateMany: { filter: { _id: { $in: named } }, update: { $unset: { expireAt: '' } } } });
  }
  if (flagged.length > 0) {
    ops.push({
      updateMany: { filter: { _id: { $in: flagged }, isBot: false }, update: { $set: { isBot: true } } },
    });
  }
  if (ops.length > 0) await sessions.bulkWrite(ops, { ordered: false });
}

/** The unique-visitor entries this batch changes: +1 per human view it stored, −1 per view it moved. */
function entryChanges(views: Owned<PageView>[], moved: Moved, retentionMs: number): EntryChanges {
  const changes = new EntryChanges();
  const expiry = (at: number) => new Date(at + retentionMs + DAY_MS);
  for (const { inserted: view } of views) {
    if (!view.isBot) changes.add(view.day, view.path, view.visitorKey, 1, expiry(view.at));
  }
  for (const view of moved.views) {
    changes.add(view.day, view.path, view.visitorKey ?? null, -1, expiry(Number(view.at)));
  }
  return changes;
}

interface Delta {
  day: string;
  path: string;
  inc: Omit<DailyAggregate, 'day' | 'path'>;
}

/**
 * The increments of this batch, one per aggregate row, by core's rules (the same as every store): its owned
 * views and metrics as inserted (`applyView` / `applyMetric`), the rows it moved to the bots
 * (`moveViewToBots` / `removeMetric`), and the unique visitors its entry changes added or took away. Rows it
 * leaves unchanged are left out.
 */
function aggregateDeltas(
  views: Owned<PageView>[],
  metrics: Owned<PageMetric>[],
  moved: Moved,
  effects: EntryEffects,
): Delta[] {
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
  // Unique visitors are decided by the entries, not here.
  for (const { inserted } of views) applyView(row(inserted.day, inserted.path), inserted, false);
  for (const { inserted } of metrics) {
    if (!inserted.isBot) applyMetric(row(inserted.day, inserted.path), inserted);
  }
  for (const view of moved.views) moveViewToBots(row(view.day, view.path), view as PageView, false);
  for (const metric of moved.metrics) removeMetric(row(metric.day, metric.path), metric as PageMetric);
  for (const [key, count] of effects.uniqueVisitors) {
    const [day, path] = key.split('\u0000', 2) as [string, string];
    row(day, path).uniqueVisitors += count;
  }
  return [...rows.values()]
    .map(({ day, path, ...inc }) => ({ day, path, inc }))
    .filter((delta) => Object.values(delta.inc).some((value) => value !== 0));
}

/**
 * Increment each aggregate row and mark it with the batch id in one atomic update, one update per row. The
 * filter excludes rows already marked, so on a replay the upsert finds no match and tries to insert: E11000,
 * which `upsertOnce` tells from a concurrent first insert by the marker.
 */
async function applyAggregates(
  collection: MongoCollectionLike,
  batchId: string,
  deltas: Delta[],
): Promise<void> {
  await upsertOnce(collection, deltas, {
    op: (delta) => ({
      filter: { _id: { day: delta.day, path: delta.path }, pendingBatches: { $ne: batchId } },
      update: {
        $inc: delta.inc,
        $setOnInsert: { day: delta.day, path: delta.path },
        $push: { pendingBatches: { $each: [batchId], $slice: -MAX_PENDING_MARKERS } },
      },
      upsert: true,
    }),
    id: (delta) => ({ day: delta.day, path: delta.path }),
    done: { pendingBatches: batchId },
    what: `aggregates of batch ${batchId}`,
  });
}

/**
 * Retention: anonymous sessions and their page views and metrics carry `expireAt` (TTL); anything of a kept
 * session (a user, a conversion) must not. The sessions the batch touched that are kept (no `expireAt`), whose
 * rows lose theirs in {@link updateRows}. Each write checks after writing, so that of two concurrent batches
 * (one storing a view, one making its session kept) the later check always sees the other's write.
 */
async function keptSessions(
  c: Collections,
  parsed: Parsed,
  summaryIds: string[],
  views: Owned<PageView>[],
  metrics: Owned<PageMetric>[],
): Promise<string[]> {
  const touched = new Set<string>(summaryIds);
  for (const { inserted } of views) if (inserted.sessionId !== null) touched.add(inserted.sessionId);
  for (const { inserted } of metrics) if (inserted.sessionId !== null) touched.add(inserted.sessionId);
  for (const conversion of parsed.conversions.values())
    for (const id of conversion.sessionIds) touched.add(id);
  if (touched.size === 0) return [];
  const kept = await c.sessions
    .find({ _id: { $in: [...touched] }, expireAt: { $exists: false } }, { projection: { _id: 1 } })
    .toArray();
  return kept.map((doc) => String(doc._id));
}
