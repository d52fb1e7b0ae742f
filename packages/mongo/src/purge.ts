import type { PurgeResult, SessionRollup } from '@anon/core';
import {
  addSessionRollup,
  type CheckedPurge,
  isVisitorSession,
  mergeLive,
  purgeCutoffDay,
  purgesSession,
  sessionRollupOf,
  type VisitorViewPart,
  visitorRollupsOf,
} from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { isDuplicateKeyError, mongoError } from './errors.js';
import { SUMMARY_PART_PROJECTION, summaryPartOf, viewFolds } from './live-sessions.js';
import {
  addPending,
  SESSION_ROLLUP_SUMS,
  sessionRollupDelta,
  settle,
  VISITOR_ROLLUP_SUMS,
  visitorRollupDelta,
} from './rollups.js';

/** Ids per `$in`: keeps every command far below MongoDB's 16 MB limit. */
const CHUNK = 1_000;
/** `_id` of the one purge run document: at most one run is under way. */
const ACTIVE = 'active';
/** How long a purge holds its run without renewing; past it, another purge may take the run over. */
const PURGE_LEASE_MS = 5 * 60_000;
/** Runs one `purge()` call finishes (an interrupted one first, then its own) before giving up. */
const MAX_RUNS = 4;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

async function count(collection: MongoCollectionLike, filter: MongoDocument): Promise<number> {
  const [doc] = await collection.aggregate([{ $match: filter }, { $count: 'n' }]).toArray();
  return Number(doc?.n ?? 0);
}

/**
 * The steps of a run, in order. `mark`: the sessions and page views to remove get `purgeRun: <run>`. `fold`:
 * their rollups are added to the rollup rows as pending entries of the run. `commit`: the run is visible to
 * reports (its marked records left out, its pending entries counted); the entries are settled, the marked
 * records and their metrics deleted, and the run document removed.
 */
type Phase = 'mark' | 'fold' | 'commit';

/** The run document (`_id: 'active'`). */
interface Run {
  run: string;
  before: number;
  authenticatedBefore: number | null;
  phase: Phase;
}

/** What a purge needs besides its options. */
export interface PurgeContext {
  collections: Collections;
  timeZone: string;
  /** Wall clock, for the run's lease only. */
  now(): number;
}

/**
 * Purge without a multi-document transaction (docs/mongo.md, "Purge"): the records to remove are marked with a
 * run id, folded into rollups as pending entries of that run, and the run is committed by one update of its
 * run document, after which reports see the rollups instead of the records; then the records are deleted. A
 * purge interrupted at any point leaves its run document behind, and the next purge resumes that run first:
 * every step is idempotent, so each session is folded exactly once. A run is held under a lease, so two
 * purges never work on one run at once; a purge that finds another purge's run under a live lease fails with
 * `store_failed` and changes nothing.
 */
export async function purge(ctx: PurgeContext, p: CheckedPurge): Promise<PurgeResult> {
  const c = ctx.collections;
  if (p.dryRun) return countPurge(c, p);
  const result: PurgeResult = { sessions: 0, pageViews: 0, metrics: 0 };
  const owner = globalThis.crypto.randomUUID();
  const lease = new Lease(c, owner, ctx.now);
  try {
    await runPurges(ctx, lease, p, result);
  } catch (error) {
    // Let the next purge resume at once (a process that dies instead leaves the lease to run out).
    await lease.release().catch(() => undefined);
    throw error;
  }
  // Unique-visitor entries are only needed while a day can still receive views.
  await c.uniqueVisitors.deleteMany({ day: { $lt: purgeCutoffDay(p.before, ctx.timeZone) } });
  return result;
}

/** Finish the run under way, if any, then run this purge's own. */
async function runPurges(ctx: PurgeContext, lease: Lease, p: CheckedPurge, result: PurgeResult) {
  const c = ctx.collections;
  for (let runs = 0; ; runs++) {
    if (runs >= MAX_RUNS) {
      throw mongoError('store_failed', `purge() found a new run under way after ${runs} runs`);
    }
    const [active] = await c.purgeRuns.find({ _id: ACTIVE }).toArray();
    if (active !== undefined) {
      // An interrupted purge (or one under way): resume it before starting this one.
      await lease.take(String(active.run));
      await runPurge(c, lease, toRun(active), result);
      continue;
    }
    const run: Run = {
      run: globalThis.crypto.randomUUID(),
      before: p.before,
      authenticatedBefore: p.authenticatedBefore,
      phase: 'mark',
    };
    try {
      await c.purgeRuns.insertOne({
        _id: ACTIVE,
        ...run,
        ...lease.hold(run.run),
        startedAt: new Date(ctx.now()),
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      continue;
    }
    await runPurge(c, lease, run, result);
    return;
  }
}

function toRun(doc: MongoDocument): Run {
  const phase = doc.phase;
  if (phase !== 'mark' && phase !== 'fold' && phase !== 'commit') {
    throw mongoError('store_failed', `the purge run document has an unknown phase ${JSON.stringify(phase)}`);
  }
  return {
    run: String(doc.run),
    before: Number(doc.before),
    authenticatedBefore: typeof doc.authenticatedBefore === 'number' ? doc.authenticatedBefore : null,
    phase,
  };
}

/** The committed run reports must account for, if any: its marked records are gone, its entries counted. */
export async function committedRun(c: Collections): Promise<string | null> {
  const [doc] = await c.purgeRuns
    .find({ _id: ACTIVE, phase: 'commit' }, { projection: { run: 1 } })
    .toArray();
  return doc === undefined ? null : String(doc.run);
}

/** Ownership of the run document: taken when free or expired, renewed before each step. */
class Lease {
  #run: string | null = null;

  constructor(
    private readonly c: Collections,
    private readonly owner: string,
    private readonly now: () => number,
  ) {}

  /** The lease fields of a run this purge creates. */
  hold(run: string): MongoDocument {
    this.#run = run;
    return { owner: this.owner, leaseUntil: new Date(this.now() + PURGE_LEASE_MS), leases: 1 };
  }

  /** Take run `run`: it must be ours already or its lease must have run out. */
  async take(run: string): Promise<void> {
    this.#run = run;
    if (
      !(await this.#claim({ $or: [{ owner: this.owner }, { leaseUntil: { $lte: new Date(this.now()) } }] }))
    ) {
      throw mongoError(
        'store_failed',
        'another purge is under way; it completes on its own, or the next purge resumes it once its lease ends',
      );
    }
  }

  /** Renew before a step; a purge whose lease another took over stops. */
  async renew(run: string): Promise<void> {
    this.#run = run;
    if (!(await this.#claim({ owner: this.owner }))) {
      throw mongoError(
        'store_failed',
        `purge run ${run} was taken over by another purge after its lease ran out`,
      );
    }
  }

  /** Give the run up: the next purge may take it over at once. */
  async release(): Promise<void> {
    if (this.#run === null) return;
    await this.c.purgeRuns.updateMany(
      { _id: ACTIVE, run: this.#run, owner: this.owner },
      { $set: { leaseUntil: new Date(0) } },
    );
  }

  async #claim(condition: MongoDocument): Promise<boolean> {
    // `leases` always changes, so a match always counts as modified.
    const { modifiedCount } = await this.c.purgeRuns.updateMany(
      { _id: ACTIVE, run: this.#run, ...condition },
      {
        $set: { owner: this.owner, leaseUntil: new Date(this.now() + PURGE_LEASE_MS) },
        $inc: { leases: 1 },
      },
    );
    return modifiedCount === 1;
  }
}

async function runPurge(c: Collections, lease: Lease, run: Run, result: PurgeResult): Promise<void> {
  let phase = run.phase;
  if (phase === 'mark') {
    await mark(c, lease, run);
    phase = await advance(c, lease, run, 'mark', 'fold');
  }
  if (phase === 'fold') {
    await fold(c, lease, run);
    // The commit: from this one update on, reports read the run's rollups instead of its records.
    phase = await advance(c, lease, run, 'fold', 'commit');
  }
  await remove(c, lease, run, result);
}

async function advance(c: Collections, lease: Lease, run: Run, from: Phase, to: Phase): Promise<Phase> {
  await lease.renew(run.run);
  await c.purgeRuns.updateMany({ _id: ACTIVE, run: run.run, phase: from }, { $set: { phase: to } });
  return to;
}

/** The page views of no session a run removes (core's `purgesUnsessionedView`). */
function unsessionedViews(run: Pick<Run, 'before' | 'authenticatedBefore'>): MongoDocument {
  const or: MongoDocument[] = [{ at: { $lt: run.before } }];
  if (run.authenticatedBefore !== null) {
    or.push({ userId: { $ne: null }, at: { $lt: run.authenticatedBefore } });
  }
  return { sessionId: null, $or: or };
}

/** Ids of the sessions a purge removes, by core's `purgesSession`, chunk by chunk. */
async function* sessionsToPurge(
  c: Collections,
  run: Pick<Run, 'before' | 'authenticatedBefore'>,
  filter: MongoDocument,
): AsyncGenerator<string[]> {
  const anonymous = { startedAt: { $lt: run.before }, userId: null, convertedUserId: null };
  const selection =
    run.authenticatedBefore === null
      ? anonymous
      : { $or: [anonymous, { startedAt: { $lt: run.authenticatedBefore } }] };
  const docs = await c.sessions
    .find(
      { ...filter, ...selection },
      { projection: { _id: 1, startedAt: 1, userId: 1, convertedUserId: 1 } },
    )
    .toArray();
  for (const chunk of chunks(docs)) {
    const ids = chunk.map((doc) => String(doc._id));
    const named = await c.conversions
      .find({ sessionIds: { $in: ids } }, { projection: { sessionIds: 1 } })
      .toArray();
    const inConversion = new Set(named.flatMap((doc) => doc.sessionIds as string[]));
    // A summary without a user id may be stale: its views decide whether the session is authenticated.
    const unsure = chunk
      .filter((doc) => (doc.userId ?? null) === null && (doc.convertedUserId ?? null) === null)
      .map((doc) => String(doc._id));
    const viewsAuthenticated = new Set<string>();
    if (run.authenticatedBefore !== null && unsure.length > 0) {
      const found = await c.pageViews
        .aggregate([
          { $match: { sessionId: { $in: unsure }, userId: { $ne: null } } },
          { $group: { _id: '$sessionId' } },
        ])
        .toArray();
      for (const doc of found) viewsAuthenticated.add(String(doc._id));
    }
    const purged = chunk.filter((doc) => {
      const id = String(doc._id);
      const summary = {
        startedAt: Number(doc.startedAt),
        userId: (doc.userId as string | null | undefined) ?? null,
        convertedUserId: (doc.convertedUserId as string | null | undefined) ?? null,
      };
      return purgesSession(summary, viewsAuthenticated.has(id), inConversion.has(id), run);
    });
    if (purged.length > 0) yield purged.map((doc) => String(doc._id));
  }
}

/** `dryRun`: what a purge would remove, changing nothing. */
async function countPurge(c: Collections, p: CheckedPurge): Promise<PurgeResult> {
  const result: PurgeResult = { sessions: 0, pageViews: 0, metrics: 0 };
  for await (const ids of sessionsToPurge(c, p, {})) {
    result.sessions += ids.length;
    result.pageViews += await count(c.pageViews, { sessionId: { $in: ids } });
    result.metrics += await count(c.metrics, { sessionId: { $in: ids } });
  }
  const unsessioned = unsessionedViews(p);
  result.pageViews += await count(c.pageViews, unsessioned);
  result.metrics += await count(c.metrics, { sessionId: null, at: { $lt: p.before } });
  // Metrics of removed views of no session that the time rule above does not already count.
  const views = await c.pageViews.find(unsessioned, { projection: { _id: 1 } }).toArray();
  for (const chunk of chunks(views.map((doc) => String(doc._id)))) {
    result.metrics += await count(c.metrics, {
      sessionId: null,
      at: { $gte: p.before },
      viewId: { $in: chunk },
    });
  }
  return result;
}

async function markedIds(collection: MongoCollectionLike, run: string, filter: MongoDocument = {}) {
  const docs = await collection.find({ ...filter, purgeRun: run }, { projection: { _id: 1 } }).toArray();
  return docs.map((doc) => String(doc._id)).sort();
}

/** Mark what the run removes. Resumable: it only ever adds marks, and a resumed run marks what is left. */
async function mark(c: Collections, lease: Lease, run: Run): Promise<void> {
  const unmarked = { purgeRun: { $exists: false } };
  for await (const ids of sessionsToPurge(c, run, unmarked)) {
    await lease.renew(run.run);
    await c.sessions.updateMany({ _id: { $in: ids }, ...unmarked }, { $set: { purgeRun: run.run } });
  }
  // Every view of a marked session, including those of sessions marked by an interrupted attempt.
  for (const ids of chunks(await markedIds(c.sessions, run.run))) {
    await lease.renew(run.run);
    await c.pageViews.updateMany({ sessionId: { $in: ids }, ...unmarked }, { $set: { purgeRun: run.run } });
  }
  await lease.renew(run.run);
  await c.pageViews.updateMany({ ...unsessionedViews(run), ...unmarked }, { $set: { purgeRun: run.run } });
}

/**
 * Fold the marked sessions and page views into pending entries of the run. Nothing is deleted before the run
 * commits, so a resumed fold reads the same records and derives the same increments; rows already holding
 * the run's entry are skipped.
 */
async function fold(c: Collections, lease: Lease, run: Run): Promise<void> {
  const sessionRows = new Map<string, SessionRollup>();
  for (const ids of chunks(await markedIds(c.sessions, run.run))) {
    await lease.renew(run.run);
    const [summaries, folds, named] = await Promise.all([
      c.sessions
        .find(
          { _id: { $in: ids } },
          {
            // The summary fields a live session reads, source and device fields included.
            projection: SUMMARY_PART_PROJECTION,
          },
        )
        .toArray(),
      viewFolds(c, ids),
      c.conversions.find({ sessionIds: { $in: ids } }, { projection: { sessionIds: 1 } }).toArray(),
    ]);
    const inConversion = new Set(named.flatMap((doc) => doc.sessionIds as string[]));
    for (const doc of summaries) {
      const id = String(doc._id);
      const summary = summaryPartOf(doc);
      const live = mergeLive(id, summary, folds.get(id) ?? null);
      if (live === null) continue;
      const source = {
        referrerHost: (doc.referrerHost as string | null | undefined) ?? null,
        utmSource: (doc.utmSource as string | null | undefined) ?? null,
        utmMedium: (doc.utmMedium as string | null | undefined) ?? null,
        utmCampaign: (doc.utmCampaign as string | null | undefined) ?? null,
        device: String(doc.device) as SessionRollup['device'],
        browser: (doc.browser as string | null | undefined) ?? null,
        os: (doc.os as string | null | undefined) ?? null,
      };
      addSessionRollup(
        sessionRows,
        sessionRollupOf(live, source, isVisitorSession(summary, inConversion.has(id))),
      );
    }
  }

  // Visitors: one representative per (day, path, key, bot) of the removed and of the remaining views.
  const distinctViews = (match: MongoDocument) =>
    c.pageViews
      .aggregate([
        { $match: { ...match, visitorKey: { $ne: null } } },
        { $group: { _id: { day: '$day', path: '$path', visitorKey: '$visitorKey', isBot: '$isBot' } } },
      ])
      .toArray()
      .then((docs) => docs.map((doc) => doc._id as VisitorViewPart));
  const removed = await distinctViews({ purgeRun: run.run });
  const days = [...new Set(removed.map((view) => view.day))];
  const remaining =
    days.length === 0 ? [] : await distinctViews({ day: { $in: days }, purgeRun: { $ne: run.run } });
  const visitorRows = visitorRollupsOf(removed, remaining);

  for (const deltas of chunks([...sessionRows.values()].map(sessionRollupDelta))) {
    await lease.renew(run.run);
    await addPending(c.sessionRollups, run.run, deltas, SESSION_ROLLUP_SUMS);
  }
  for (const deltas of chunks(visitorRows.map(visitorRollupDelta))) {
    await lease.renew(run.run);
    await addPending(c.visitorRollups, run.run, deltas, VISITOR_ROLLUP_SUMS);
  }
}

/**
 * After the commit: settle the run's entries, delete its records chunk by chunk — metrics first, while the
 * marked views and sessions that find them are still there; a session after its views — then end the run.
 */
async function remove(c: Collections, lease: Lease, run: Run, result: PurgeResult): Promise<void> {
  await lease.renew(run.run);
  await settle(c.sessionRollups, run.run, SESSION_ROLLUP_SUMS);
  await settle(c.visitorRollups, run.run, VISITOR_ROLLUP_SUMS);
  const sessionIds = chunks(await markedIds(c.sessions, run.run));
  const unsessioned = chunks(await markedIds(c.pageViews, run.run, { sessionId: null }));
  const marked = { purgeRun: run.run };
  for (const ids of sessionIds) {
    await lease.renew(run.run);
    result.metrics += (await c.metrics.deleteMany({ sessionId: { $in: ids } })).deletedCount;
  }
  for (const ids of unsessioned) {
    await lease.renew(run.run);
    result.metrics += (await c.metrics.deleteMany({ viewId: { $in: ids } })).deletedCount;
  }
  await lease.renew(run.run);
  result.metrics += (await c.metrics.deleteMany({ sessionId: null, at: { $lt: run.before } })).deletedCount;
  for (const ids of unsessioned) {
    await lease.renew(run.run);
    result.pageViews += (await c.pageViews.deleteMany({ _id: { $in: ids }, ...marked })).deletedCount;
  }
  for (const ids of sessionIds) {
    await lease.renew(run.run);
    result.pageViews += (await c.pageViews.deleteMany({ sessionId: { $in: ids }, ...marked })).deletedCount;
    // Their bot flags go too (before the sessions, so a resumed run still finds them): a row of them
    // written again afterwards counts anew, as in every store.
    await c.botSessions.deleteMany({ _id: { $in: ids } });
    result.sessions += (await c.sessions.deleteMany({ _id: { $in: ids }, ...marked })).deletedCount;
  }
  await lease.renew(run.run);
  await c.purgeRuns.deleteMany({ _id: ACTIVE, run: run.run });
}
