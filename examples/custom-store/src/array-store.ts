import type {
  BotSession,
  Conversion,
  DailyAggregate,
  Day,
  EraseResult,
  EventBatch,
  Millis,
  PageMetric,
  PageView,
  PurgeOptions,
  PurgeResult,
  Session,
  Store,
  WriteResult,
} from '@anon/core';
import {
  addSessionRollup,
  addVisitorRollup,
  applyMetric,
  applyView,
  type CheckedPurge,
  checkBatch,
  checkClaimDailyJob,
  checkEraseUser,
  checkPurge,
  checkStoreSettings,
  checkVisitorSessions,
  compareCodePoints,
  DEFAULT_STORE_SETTINGS,
  emptyAggregate,
  isVisitorSession,
  liveSession,
  mergeSession,
  moveViewToBots,
  purgeCutoffDay,
  purgesSession,
  purgesUnsessionedView,
  removeMetric,
  rollupKey,
  sessionChanged,
  sessionRollupOf,
  visitorRollupKey,
  visitorRollupsOf,
  withRateReason,
} from '@anon/core/adapter';
import { createReports } from './reports.js';
import { createTables, type DailyJobClaim, type Tables, viewsBySession } from './tables.js';

/** Separator of composite keys: a character no day, path or visitor key contains. */
const SEP = '\u0000';
/** The name in this store's errors: `[anon] [array-store] …`. */
const SOURCE = 'array-store';

/**
 * A complete anon `Store` over plain arrays (see `Tables`), written from scratch as the guide to writing
 * your own: swap the arrays for your database's tables and keep the same rules. It passes `storeContract`
 * from `@anon/testing`, which is how you know a store is right.
 *
 * Each `write` and each `purge` is checked whole, then applied synchronously — nothing else runs in between,
 * which is this store's transaction. A database-backed store does the same inside one transaction.
 *
 * @example
 * const tables = createTables();
 * const tracker = createTracker({ store: arrayStore(tables) });
 */
export function arrayStore(tables: Tables = createTables()): Store {
  // Indexes over the arrays: ids seen, and the mutable rows by key. Built from the tables so a store can be
  // opened over tables loaded from a file.
  const batchIds = new Set(tables.batches);
  const viewIds = new Set(tables.pageViews.map((v) => v.id));
  const metricIds = new Set(tables.metrics.map(metricKey));
  const conversionIds = new Set(tables.conversions.map((c) => c.id));
  const uniques = new Map(tables.uniques.map((u) => [uniqueKey(u.day, u.path, u.visitorKey), u]));
  const botSessions = new Set(tables.botSessions);
  const sessions = new Map(tables.sessions.map((s) => [s.id, s]));
  const aggregates = new Map(tables.aggregates.map((row) => [row.day + SEP + row.path, row]));
  const sessionRollups = new Map(tables.sessionRollups.map((row) => [rollupKey(row), row]));
  const visitorRollups = new Map(tables.visitorRollups.map((row) => [visitorRollupKey(row), row]));
  const claimKeys = new Set(tables.dailyJobs.map(claimKey));

  function aggregateRow(day: string, path: string): DailyAggregate {
    const key = day + SEP + path;
    let row = aggregates.get(key);
    if (row === undefined) {
      row = emptyAggregate(day, path);
      aggregates.set(key, row);
      tables.aggregates.push(row);
    }
    return row;
  }

  /** Whether a row of this session is a bot's whatever it says: its `botsession` event is stored. */
  function ofBotSession(sessionId: string | null): boolean {
    return sessionId !== null && botSessions.has(sessionId);
  }

  /**
   * Inserts a page view if its id is new; only a new view touches its aggregate row. A view of a flagged
   * session is stored as a bot (batches arrive in any order: its `botsession` event may be stored already).
   */
  function writeView(incoming: PageView): number {
    if (viewIds.has(incoming.id)) return 0;
    const view = structuredClone(incoming);
    if (!view.isBot && ofBotSession(view.sessionId)) {
      view.isBot = true;
      view.botReasons = withRateReason(view.botReasons);
    }
    viewIds.add(view.id);
    tables.pageViews.push(view);
    // Bot views count only in the bot counts: their visitors do not enter the unique set.
    let newVisitor = false;
    if (!view.isBot && view.visitorKey !== null) {
      const key = uniqueKey(view.day, view.path, view.visitorKey);
      const entry = uniques.get(key);
      newVisitor = entry === undefined;
      if (entry !== undefined) entry.views += 1;
      else {
        const added = { day: view.day, path: view.path, visitorKey: view.visitorKey, views: 1 };
        uniques.set(key, added);
        tables.uniques.push(added);
      }
    }
    applyView(aggregateRow(view.day, view.path), view, newVisitor);
    return 1;
  }

  /**
   * Inserts a metric if `(viewId, metric)` is new (first write wins); bot metrics aggregate nowhere. A metric
   * of a flagged session is stored as a bot, found by its own `sessionId` (it may arrive before its view).
   */
  function writeMetric(incoming: PageMetric): number {
    const key = metricKey(incoming);
    if (metricIds.has(key)) return 0;
    const metric = structuredClone(incoming);
    if (!metric.isBot && ofBotSession(metric.sessionId)) metric.isBot = true;
    metricIds.add(key);
    tables.metrics.push(metric);
    if (!metric.isBot) applyMetric(aggregateRow(metric.day, metric.path), metric);
    return 1;
  }

  /**
   * Upserts a session summary with the monotonic merge; counts when it is new or changed a field. The summary
   * of a flagged session is a bot's, however stale (the tracker writes summaries on views 1, 5, 10… only).
   */
  function writeSession(given: Session): number {
    const incoming = ofBotSession(given.id) ? { ...given, isBot: true } : given;
    const stored = sessions.get(incoming.id);
    if (stored === undefined) {
      const session = mergeSession(null, structuredClone(incoming));
      sessions.set(session.id, session);
      tables.sessions.push(session);
      return 1;
    }
    const merged = mergeSession(stored, incoming);
    if (!sessionChanged(stored, merged)) return 0;
    // In place: the same object is in `tables.sessions` and in the index.
    Object.assign(stored, merged);
    return 1;
  }

  /** Inserts a conversion once, and marks the linked sessions that no other conversion marked yet. */
  function writeConversion(incoming: Conversion): number {
    if (conversionIds.has(incoming.id)) return 0;
    const conversion = structuredClone(incoming);
    conversionIds.add(conversion.id);
    tables.conversions.push(conversion);
    for (const id of conversion.sessionIds) {
      const session = sessions.get(id);
      if (session !== undefined && session.convertedUserId === null) {
        session.convertedUserId = conversion.userId;
        session.convertedAt = conversion.at;
      }
    }
    return 1;
  }

  /**
   * A session became a bot session (its `botsession` event; docs/semantics.md, "Bot sessions"): remember it,
   * so its rows written later are bots from the start, and move what is stored of it and is not a bot yet to
   * the bots — each page view (`withRateReason`, then core's `moveViewToBots` on its row), each metric (core's
   * `removeMetric`) and the summary. Only rows that are not bots move, so a replayed event, or a row written
   * after the event, never moves twice. Counts once per session, even when nothing of it is stored yet.
   */
  function writeBotSession({ sessionId }: BotSession): number {
    if (botSessions.has(sessionId)) return 0;
    botSessions.add(sessionId);
    tables.botSessions.push(sessionId);
    // A database reads these through an index on `session_id` (metrics by their own, not through the views).
    for (const view of tables.pageViews) {
      if (view.sessionId !== sessionId || view.isBot) continue;
      view.isBot = true;
      view.botReasons = withRateReason(view.botReasons);
      moveViewToBots(aggregateRow(view.day, view.path), view, leavesUniques(view));
    }
    for (const metric of tables.metrics) {
      if (metric.sessionId !== sessionId || metric.isBot) continue;
      metric.isBot = true;
      removeMetric(aggregateRow(metric.day, metric.path), metric);
    }
    // The stored summary may be stale and say human: the reports that select sessions by their summary
    // (referrers, campaigns, devices, conversions, bots) must see a bot session now.
    const summary = sessions.get(sessionId);
    if (summary !== undefined) summary.isBot = true;
    return 1;
  }

  /**
   * One human page view of `view`'s visitor leaves the count of its (day, path): true when it was the visitor's
   * last there, so the visitor leaves `uniqueVisitors` (and its entry goes). False when there is no entry:
   * `purge` drops those of days before its cut-off, and then whether the visitor has another view is unknown.
   */
  function leavesUniques(view: PageView): boolean {
    if (view.visitorKey === null) return false;
    const key = uniqueKey(view.day, view.path, view.visitorKey);
    const entry = uniques.get(key);
    if (entry === undefined) return false;
    entry.views -= 1;
    if (entry.views > 0) return false;
    uniques.delete(key);
    tables.uniques = tables.uniques.filter((u) => u !== entry);
    return true;
  }

  /** Forgets the bot flag of sessions whose rows are gone: one written again afterwards counts anew. */
  function forgetBotSessions(ids: ReadonlySet<string>): void {
    for (const id of ids) botSessions.delete(id);
    tables.botSessions = tables.botSessions.filter((id) => !ids.has(id));
  }

  /**
   * What `purge` removes, computed without touching anything (so a dry run is the same code). Which sessions and
   * page views go is core's rule (`purgesSession`, `purgesUnsessionedView`): anonymous sessions started before
   * `before`; with `authenticatedBefore`, sessions with a user id (on the summary or on any of its stored page
   * views) started before that; never a session a conversion names.
   */
  function purgePlan(p: CheckedPurge) {
    const named = new Set(tables.conversions.flatMap((c) => c.sessionIds));
    const viewsOf = viewsBySession(tables.pageViews);
    const goneSessions = tables.sessions.filter((s) => {
      const viewsAuthenticated = (viewsOf.get(s.id) ?? []).some((v) => v.userId !== null);
      return purgesSession(s, viewsAuthenticated, named.has(s.id), p);
    });
    const goneSessionIds = new Set(goneSessions.map((s) => s.id));
    // Views of a session whose summary is not stored yet stay: only stored sessions are purged.
    const viewGone = (v: PageView) =>
      v.sessionId === null ? purgesUnsessionedView(v, p) : goneSessionIds.has(v.sessionId);
    const goneViews = tables.pageViews.filter(viewGone);
    const goneViewIds = new Set(goneViews.map((v) => v.id));
    const metricGone = (m: PageMetric) =>
      goneViewIds.has(m.viewId) || (m.sessionId === null ? m.at < p.before : goneSessionIds.has(m.sessionId));
    return { named, viewsOf, goneSessions, goneSessionIds, goneViews, goneViewIds, metricGone };
  }

  /**
   * Folds what a purge removes into the rollups, before it is removed: each session as the live reports count
   * it (`liveSession`: its summary merged with its stored page views), and the visitors of the removed views
   * that no remaining view of the same day (and path) still counts. The rows are core's (`sessionRollupOf`,
   * `visitorRollupsOf`); the store only adds them to the rows of the same key.
   */
  function foldIntoRollups(plan: ReturnType<typeof purgePlan>): void {
    for (const session of plan.goneSessions) {
      // Never null: the session has a summary.
      const live = liveSession(session, plan.viewsOf.get(session.id) ?? [])!;
      const visitor = isVisitorSession(session, plan.named.has(session.id));
      addSessionRollup(sessionRollups, sessionRollupOf(live, session, visitor));
    }
    const days = new Set(plan.goneViews.map((v) => v.day));
    const remaining = tables.pageViews.filter((v) => days.has(v.day) && !plan.goneViewIds.has(v.id));
    for (const row of visitorRollupsOf(plan.goneViews, remaining)) addVisitorRollup(visitorRollups, row);
    // A row already stored was added to in place; a new key's row is new: the tables take the maps' rows.
    tables.sessionRollups = [...sessionRollups.values()];
    tables.visitorRollups = [...visitorRollups.values()];
  }

  // The tracker's settings, handed over by `init`; the purge counts days in its time zone.
  let settings = DEFAULT_STORE_SETTINGS;

  const store: Store = {
    init(given) {
      settings = checkStoreSettings(given, SOURCE);
    },

    async write(batch: EventBatch): Promise<WriteResult> {
      checkBatch(batch, SOURCE);
      if (batchIds.has(batch.id)) return { applied: false, written: 0 };
      let written = 0;
      for (const event of batch.events) {
        if (event.type === 'pageview') written += writeView(event.view);
        else if (event.type === 'metric') written += writeMetric(event.metric);
        else if (event.type === 'session') written += writeSession(event.session);
        else if (event.type === 'botsession') written += writeBotSession(event.botSession);
        else if (event.type === 'conversion') written += writeConversion(event.conversion);
      }
      batchIds.add(batch.id);
      tables.batches.push(batch.id);
      return { applied: true, written };
    },

    async visitorSessions(visitorKeys: string[], since: Millis, until: Millis): Promise<Session[]> {
      const keys = new Set(checkVisitorSessions(visitorKeys, since, until, SOURCE));
      return tables.sessions
        .filter((s) => keys.has(s.visitorKey) && s.startedAt >= since && s.startedAt <= until)
        .sort((a, b) => a.startedAt - b.startedAt || compareCodePoints(a.id, b.id))
        .map((s) => structuredClone(s));
    },

    async purge(before: Millis, options?: PurgeOptions): Promise<PurgeResult> {
      const p = checkPurge(before, options, SOURCE);
      const plan = purgePlan(p);
      const result = {
        sessions: plan.goneSessions.length,
        pageViews: plan.goneViews.length,
        metrics: tables.metrics.filter(plan.metricGone).length,
      };
      if (p.dryRun) return result;

      // Fold and remove in one step (a database: one transaction), so a purge run again after a crash finds
      // nothing left to fold twice, and the session-level reports of a purged day read the same as before.
      foldIntoRollups(plan);
      for (const m of tables.metrics.filter(plan.metricGone)) metricIds.delete(metricKey(m));
      tables.sessions = tables.sessions.filter((s) => !plan.goneSessionIds.has(s.id));
      tables.pageViews = tables.pageViews.filter((v) => !plan.goneViewIds.has(v.id));
      tables.metrics = tables.metrics.filter((m) => !plan.metricGone(m));
      for (const id of plan.goneSessionIds) sessions.delete(id);
      for (const id of plan.goneViewIds) viewIds.delete(id);
      forgetBotSessions(plan.goneSessionIds);
      // Unique-visitor entries are only needed while their day can still receive views.
      const cutoff = purgeCutoffDay(p.before, settings.timeZone);
      tables.uniques = tables.uniques.filter((u) => {
        if (u.day >= cutoff) return true;
        uniques.delete(uniqueKey(u.day, u.path, u.visitorKey));
        return false;
      });
      return result;
    },

    // Once a day across every instance sharing the store (the worker's automatic retention): the first claim
    // of a (job, day) wins. In a database, one atomic insert on a primary key (job, day) — `INSERT … ON
    // CONFLICT DO NOTHING`, true when a row went in; here nothing runs between the check and the push. One
    // row per job a day; claims older than a week may be deleted.
    async claimDailyJob(job: string, day: Day): Promise<boolean> {
      const claim = checkClaimDailyJob(job, day, SOURCE);
      const key = claimKey(claim);
      if (claimKeys.has(key)) return false;
      claimKeys.add(key);
      tables.dailyJobs.push(claim);
      return true;
    },

    // Erasure (GDPR art. 17): the user's sessions (by user id, or linked by their conversion), every page
    // view of those sessions or carrying the id, their metrics, and the conversion. Aggregates are counts.
    async eraseUser(given: string): Promise<EraseResult> {
      const userId = checkEraseUser(given, SOURCE);
      const goneConversions = tables.conversions.filter((c) => c.userId === userId);
      const goneSessions = new Set(goneConversions.flatMap((c) => c.sessionIds));
      for (const s of tables.sessions) {
        if (s.userId === userId || s.convertedUserId === userId) goneSessions.add(s.id);
      }
      const viewGone = (v: PageView) =>
        v.userId === userId || (v.sessionId !== null && goneSessions.has(v.sessionId));
      const goneViews = new Set(tables.pageViews.filter(viewGone).map((v) => v.id));
      const metricGone = (m: PageMetric) =>
        goneViews.has(m.viewId) || (m.sessionId !== null && goneSessions.has(m.sessionId));
      const result: EraseResult = {
        sessions: tables.sessions.filter((s) => goneSessions.has(s.id)).length,
        pageViews: goneViews.size,
        metrics: tables.metrics.filter(metricGone).length,
        conversions: goneConversions.length,
      };
      for (const m of tables.metrics.filter(metricGone)) metricIds.delete(metricKey(m));
      for (const id of goneViews) viewIds.delete(id);
      for (const id of goneSessions) sessions.delete(id);
      for (const c of goneConversions) conversionIds.delete(c.id);
      forgetBotSessions(goneSessions);
      tables.metrics = tables.metrics.filter((m) => !metricGone(m));
      tables.pageViews = tables.pageViews.filter((v) => !goneViews.has(v.id));
      tables.sessions = tables.sessions.filter((s) => !goneSessions.has(s.id));
      tables.conversions = tables.conversions.filter((c) => c.userId !== userId);
      return result;
    },

    ...createReports(tables),
  };
  return store;
}

/** The key of a visitor's entry in the unique set of (day, path). */
function uniqueKey(day: string, path: string, visitorKey: string): string {
  return [day, path, visitorKey].join(SEP);
}

function metricKey(metric: Pick<PageMetric, 'viewId' | 'metric'>): string {
  return `${metric.viewId}:${metric.metric}`;
}

/** A job name may hold any character: the key is the pair, not a joined string. */
function claimKey(claim: DailyJobClaim): string {
  return JSON.stringify([claim.job, claim.day]);
}
