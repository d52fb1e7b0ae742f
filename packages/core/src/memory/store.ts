import { withRateReason } from '../adapter/bot-session.js';
import { checkBatch } from '../adapter/check-batch.js';
import { checkEraseUser } from '../adapter/check-erase.js';
import { checkVisitorSessions } from '../adapter/check-query.js';
import { liveSession } from '../adapter/live-session.js';
import {
  addSessionRollup,
  addVisitorRollup,
  type CheckedPurge,
  checkClaimDailyJob,
  checkPurge,
  isVisitorSession,
  purgesSession,
  purgesUnsessionedView,
  sessionRollupOf,
  visitorRollupsOf,
} from '../adapter/rollup.js';
import { mergeSession, sessionChanged } from '../adapter/session-merge.js';
import { checkStoreSettings, DEFAULT_STORE_SETTINGS, purgeCutoffDay } from '../adapter/store-settings.js';
import { applyMetric, applyView, emptyAggregate, moveViewToBots, removeMetric } from '../aggregate.js';
import { AnonError } from '../errors.js';
import type { EraseResult, Store, StoreSettings, WriteResult } from '../ports.js';
import type {
  AnonEvent,
  BotSession,
  Conversion,
  DailyAggregate,
  Day,
  EventBatch,
  PageMetric,
  PageView,
  PurgeResult,
  Session,
  SessionRollup,
  VisitorRollup,
} from '../types.js';
import { compareCodePoints } from './code-point-order.js';
import { createReports } from './reports.js';
import {
  addToIndex,
  copyAggregate,
  copyConversion,
  copySession,
  copyView,
  createStoreState,
  removeFromIndex,
  type StoreState,
} from './store-state.js';

export interface MemoryStoreOptions {
  /**
   * Batch ids remembered for `write`'s replay check; the oldest are forgotten first. Forgetting one is safe:
   * every event is idempotent by its own id, the ledger only makes a replayed batch free.
   * @default 100_000
   */
  ledgerSize?: number;
}

/** Raw contents of a memory store, bypassing its reports: what a contract-suite probe reads. */
export interface MemoryStoreContents {
  pageViews: PageView[];
  metrics: PageMetric[];
  sessions: Session[];
  conversions: Conversion[];
  /** Sorted by day, then path. */
  aggregates: DailyAggregate[];
  /** What purges kept of the sessions they removed, one row per key. */
  sessionRollups: SessionRollup[];
  /** What purges kept of the visitors of the page views they removed, one row per (day, path). */
  visitorRollups: VisitorRollup[];
  /** Ids of the sessions `botsession` events flagged (and no purge or erasure removed since). */
  botSessions: string[];
}

/** The in-memory store, with a raw dump for tests. */
export interface MemoryStore extends Store {
  /** Take the tracker's `timeZone` (for the purge's cut-off day). */
  init(settings: StoreSettings): void;
  /** Copies of everything held, for probes and exports. */
  dump(): MemoryStoreContents;
  /** Claims are per store object: the instances sharing one memory store share its claims. */
  claimDailyJob(job: string, day: Day): Promise<boolean>;
}

/**
 * The in-memory `Store`: the reference implementation of docs/semantics.md, for tests, demos and single-process
 * apps that can lose their history on restart. `write` is synchronous inside, so a batch applies atomically.
 *
 * @example
 * const tracker = createTracker({ store: memoryStore() });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const ledgerSize = options.ledgerSize ?? 100_000;
  if (!(Number.isInteger(ledgerSize) && ledgerSize >= 1)) {
    throw new AnonError('invalid_config', 'ledgerSize must be an integer ≥ 1', { source: 'memory' });
  }
  const state = createStoreState();
  let settings = DEFAULT_STORE_SETTINGS;

  return {
    init(given) {
      settings = checkStoreSettings(given, SOURCE);
    },

    async write(batch: EventBatch): Promise<WriteResult> {
      // Every event is checked before any is applied: a bad batch changes nothing.
      checkBatch(batch, SOURCE);
      if (state.batches.has(batch.id)) return { applied: false, written: 0 };
      let written = 0;
      for (const event of batch.events) if (applyEvent(state, event)) written++;
      state.batches.add(batch.id);
      if (state.batches.size > ledgerSize) {
        for (const id of state.batches) {
          state.batches.delete(id);
          if (state.batches.size <= ledgerSize) break;
        }
      }
      return { applied: true, written };
    },

    async visitorSessions(visitorKeys, since, until) {
      const found: Session[] = [];
      for (const key of checkVisitorSessions(visitorKeys, since, until, SOURCE)) {
        for (const id of state.sessionsByVisitor.get(key) ?? []) {
          const s = state.sessions.get(id);
          if (s !== undefined && s.startedAt >= since && s.startedAt <= until) found.push(copySession(s));
        }
      }
      return found.sort((a, b) => a.startedAt - b.startedAt || compareCodePoints(a.id, b.id));
    },

    async purge(before, purgeOptions) {
      return purge(state, checkPurge(before, purgeOptions, SOURCE), settings.timeZone);
    },

    async claimDailyJob(job, day) {
      const claim = checkClaimDailyJob(job, day, SOURCE);
      return claimDailyJob(state, claim.job, claim.day);
    },

    async eraseUser(userId) {
      return eraseUser(state, checkEraseUser(userId, SOURCE));
    },

    ...createReports(state),

    dump() {
      const aggregates: DailyAggregate[] = [];
      for (const rows of state.aggregates.values())
        for (const row of rows.values()) aggregates.push(copyAggregate(row));
      aggregates.sort((a, b) => compareCodePoints(a.day, b.day) || compareCodePoints(a.path, b.path));
      return {
        pageViews: [...state.pageViews.values()].map(copyView),
        metrics: [...state.metrics.values()].map((m) => ({ ...m })),
        sessions: [...state.sessions.values()].map(copySession),
        conversions: [...state.conversions.values()].map(copyConversion),
        aggregates,
        sessionRollups: [...state.sessionRollups.values()].map((r) => ({ ...r })),
        visitorRollups: [...state.visitorRollups.values()].map((r) => ({ ...r })),
        botSessions: [...state.botSessions],
      };
    },
  };
}

const SOURCE = 'memory';

/** Applies one event; true when it changed something. */
function applyEvent(state: StoreState, event: AnonEvent): boolean {
  switch (event.type) {
    case 'pageview':
      return insertView(state, event.view);
    case 'metric':
      return insertMetric(state, event.metric);
    case 'session':
      return upsertSession(state, event.session);
    case 'botsession':
      return insertBotSession(state, event.botSession);
    case 'conversion':
      return insertConversion(state, event.conversion);
    default:
      return false;
  }
}

function aggregateRow(state: StoreState, day: string, path: string): DailyAggregate {
  let rows = state.aggregates.get(day);
  if (rows === undefined) {
    rows = new Map();
    state.aggregates.set(day, rows);
  }
  let row = rows.get(path);
  if (row === undefined) {
    row = emptyAggregate(day, path);
    rows.set(path, row);
  }
  return row;
}

/** Whether a row written now belongs to a session flagged bot (its `botsession` came first). */
function ofBotSession(state: StoreState, sessionId: string | null): boolean {
  return sessionId !== null && state.botSessions.has(sessionId);
}

/** The visitors counted in the unique set of (day, path), with their human views there; created if absent. */
function visitorsOf(state: StoreState, day: Day, path: string): Map<string, number> {
  let paths = state.uniques.get(day);
  if (paths === undefined) {
    paths = new Map();
    state.uniques.set(day, paths);
  }
  let visitors = paths.get(path);
  if (visitors === undefined) {
    visitors = new Map();
    paths.set(path, visitors);
  }
  return visitors;
}

function insertView(state: StoreState, incoming: PageView): boolean {
  if (state.pageViews.has(incoming.id)) return false;
  const view = copyView(incoming);
  if (!view.isBot && ofBotSession(state, view.sessionId)) {
    view.isBot = true;
    view.botReasons = withRateReason(view.botReasons);
  }
  state.pageViews.set(view.id, view);
  if (view.sessionId !== null) {
    const list = state.viewsBySession.get(view.sessionId);
    if (list === undefined) state.viewsBySession.set(view.sessionId, [view]);
    else list.push(view);
  }
  // Bot views count only in the bot counts: their visitors do not enter the unique set.
  let isNewVisitor = false;
  if (!view.isBot && view.visitorKey !== null) {
    const visitors = visitorsOf(state, view.day, view.path);
    const seen = visitors.get(view.visitorKey) ?? 0;
    visitors.set(view.visitorKey, seen + 1);
    isNewVisitor = seen === 0;
  }
  applyView(aggregateRow(state, view.day, view.path), view, isNewVisitor);
  return true;
}

function insertMetric(state: StoreState, incoming: PageMetric): boolean {
  const key = `${incoming.viewId}:${incoming.metric}`;
  if (state.metrics.has(key)) return false;
  const metric = { ...incoming };
  if (!metric.isBot && ofBotSession(state, metric.sessionId)) metric.isBot = true;
  state.metrics.set(key, metric);
  if (metric.sessionId !== null) addToIndex(state.metricsBySession, metric.sessionId, key);
  if (!metric.isBot) applyMetric(aggregateRow(state, metric.day, metric.path), metric);
  return true;
}

/**
 * A session became a bot session (docs/semantics.md, "Bot sessions"): remember it, so its rows written later
 * are bots from the start, and move its stored human page views and metrics to the bots. Only rows not yet
 * bots move, so a replay, or a row written after the event, is never moved twice. True when it is new.
 */
function insertBotSession(state: StoreState, flagged: BotSession): boolean {
  if (state.botSessions.has(flagged.sessionId)) return false;
  state.botSessions.add(flagged.sessionId);
  // Its stored summary may be stale (written on views 1, 5, 10…): it says bot now, so the session is a bot
  // session in every report even before any of its page views is stored.
  const summary = state.sessions.get(flagged.sessionId);
  if (summary !== undefined) summary.isBot = true;
  for (const view of state.viewsBySession.get(flagged.sessionId) ?? []) {
    if (view.isBot) continue;
    view.isBot = true;
    view.botReasons = withRateReason(view.botReasons);
    moveViewToBots(aggregateRow(state, view.day, view.path), view, leavesUniques(state, view));
  }
  for (const key of state.metricsBySession.get(flagged.sessionId) ?? []) {
    const metric = state.metrics.get(key);
    if (metric === undefined || metric.isBot) continue;
    metric.isBot = true;
    removeMetric(aggregateRow(state, metric.day, metric.path), metric);
  }
  return true;
}

/**
 * One human view of `view`'s visitor on its (day, path) is no longer counted: true when it was the last, so
 * the visitor leaves the row's unique visitors. False when its day's unique set is gone (a purge drops the
 * sets of days before its cut-off): whether the visitor has another view there is no longer known.
 */
function leavesUniques(state: StoreState, view: PageView): boolean {
  if (view.visitorKey === null) return false;
  const visitors = state.uniques.get(view.day)?.get(view.path);
  const seen = visitors?.get(view.visitorKey);
  if (visitors === undefined || seen === undefined) return false;
  if (seen > 1) {
    visitors.set(view.visitorKey, seen - 1);
    return false;
  }
  visitors.delete(view.visitorKey);
  return true;
}

/** Upserts a session summary by core's `mergeSession`; true when it is new or changed a stored field. */
function upsertSession(state: StoreState, incoming: Session): boolean {
  const stored = state.sessions.get(incoming.id);
  // A summary of a flagged session is a bot's, however stale (written on views 1, 5, 10… and at the end).
  const summary = ofBotSession(state, incoming.id) ? { ...incoming, isBot: true } : incoming;
  if (stored === undefined) {
    const session = mergeSession(null, copySession(summary));
    state.sessions.set(session.id, session);
    addToIndex(state.sessionsByDay, session.day, session.id);
    addToIndex(state.sessionsByVisitor, session.visitorKey, session.id);
    return true;
  }
  const merged = mergeSession(stored, summary);
  if (!sessionChanged(stored, merged)) return false;
  // In place: the indexes hold this object, and the fields they key on never change after the first write.
  Object.assign(stored, merged);
  return true;
}

function insertConversion(state: StoreState, incoming: Conversion): boolean {
  if (state.conversions.has(incoming.id)) return false;
  const conversion = copyConversion(incoming);
  state.conversions.set(conversion.id, conversion);
  for (const id of conversion.sessionIds) {
    state.convertedSessions.add(id);
    const session = state.sessions.get(id);
    if (session !== undefined && session.convertedUserId === null) {
      session.convertedUserId = conversion.userId;
      session.convertedAt = conversion.at;
    }
  }
  return true;
}

function purge(state: StoreState, p: CheckedPurge, timeZone: string): PurgeResult {
  const sessions: Session[] = [];
  for (const session of state.sessions.values()) {
    const views = state.viewsBySession.get(session.id) ?? [];
    const viewsAuthenticated = views.some((v) => v.userId !== null);
    if (purgesSession(session, viewsAuthenticated, state.convertedSessions.has(session.id), p)) {
      sessions.push(session);
    }
  }
  const sessionIds = new Set(sessions.map((s) => s.id));
  const viewIds = new Set<string>();
  for (const id of sessionIds) for (const view of state.viewsBySession.get(id) ?? []) viewIds.add(view.id);
  // Aggregate-only views (DNT / Sec-GPC) belong to no session: they go by their own time.
  for (const view of state.pageViews.values()) {
    if (view.sessionId === null && purgesUnsessionedView(view, p)) viewIds.add(view.id);
  }
  const metricKeys: string[] = [];
  for (const [key, metric] of state.metrics) {
    const ofPurged =
      viewIds.has(metric.viewId) ||
      (metric.sessionId !== null ? sessionIds.has(metric.sessionId) : metric.at < p.before);
    if (ofPurged) metricKeys.push(key);
  }
  const result: PurgeResult = {
    sessions: sessions.length,
    pageViews: viewIds.size,
    metrics: metricKeys.length,
  };
  if (p.dryRun) return result;

  // Fold before removing, in the same synchronous step: each session as the live reports see it.
  for (const session of sessions) {
    const live = liveSession(session, state.viewsBySession.get(session.id) ?? []);
    if (live === null) continue;
    const visitor = isVisitorSession(session, state.convertedSessions.has(session.id));
    addSessionRollup(state.sessionRollups, sessionRollupOf(live, session, visitor));
  }
  const removed: PageView[] = [];
  for (const id of viewIds) {
    const view = state.pageViews.get(id);
    if (view !== undefined) removed.push(view);
  }
  for (const session of sessions) dropSession(state, session);
  for (const id of viewIds) state.pageViews.delete(id);
  for (const key of metricKeys) state.metrics.delete(key);
  const days = new Set(removed.map((v) => v.day));
  const remaining = [...state.pageViews.values()].filter((v) => days.has(v.day));
  for (const row of visitorRollupsOf(removed, remaining)) addVisitorRollup(state.visitorRollups, row);
  // Unique-visitor sets are only needed while a day can still receive views.
  const cutoffDay = purgeCutoffDay(p.before, timeZone);
  for (const day of state.uniques.keys()) if (day < cutoffDay) state.uniques.delete(day);
  return result;
}

/** Claims kept per job: a week's, whatever order the days are claimed in. */
const CLAIM_DAYS_KEPT = 7;

function claimDailyJob(state: StoreState, job: string, day: Day): boolean {
  let days = state.dailyJobs.get(job);
  if (days === undefined) {
    days = new Set();
    state.dailyJobs.set(job, days);
  }
  if (days.has(day)) return false;
  days.add(day);
  const oldest = [...days].sort().slice(0, Math.max(0, days.size - CLAIM_DAYS_KEPT));
  for (const old of oldest) days.delete(old);
  return true;
}

/**
 * Removes one session with its index entries (its page views and metrics are the caller's to remove). Its bot
 * flag goes too: its rows are gone, and one written again afterwards counts anew (as a purged live session
 * written again does).
 */
function dropSession(state: StoreState, session: Session): void {
  state.sessions.delete(session.id);
  state.viewsBySession.delete(session.id);
  state.metricsBySession.delete(session.id);
  state.botSessions.delete(session.id);
  removeFromIndex(state.sessionsByDay, session.day, session.id);
  removeFromIndex(state.sessionsByVisitor, session.visitorKey, session.id);
}

function eraseUser(state: StoreState, userId: string): EraseResult {
  const conversionIds: string[] = [];
  const sessionIds = new Set<string>();
  for (const conversion of state.conversions.values()) {
    if (conversion.userId !== userId) continue;
    conversionIds.push(conversion.id);
    for (const id of conversion.sessionIds) sessionIds.add(id);
  }
  for (const session of state.sessions.values()) {
    if (session.userId === userId || session.convertedUserId === userId) sessionIds.add(session.id);
  }
  const viewIds = new Set<string>();
  for (const view of state.pageViews.values()) {
    if (view.userId === userId || (view.sessionId !== null && sessionIds.has(view.sessionId))) {
      viewIds.add(view.id);
    }
  }
  const metricKeys: string[] = [];
  for (const [key, metric] of state.metrics) {
    if (viewIds.has(metric.viewId) || (metric.sessionId !== null && sessionIds.has(metric.sessionId))) {
      metricKeys.push(key);
    }
  }
  let sessions = 0;
  for (const id of sessionIds) {
    const session = state.sessions.get(id);
    if (session === undefined) continue;
    dropSession(state, session);
    sessions++;
  }
  for (const id of viewIds) {
    const sessionId = state.pageViews.get(id)?.sessionId ?? null;
    state.pageViews.delete(id);
    // A view of another user's session that carried this user id: take it out of that session's list too.
    const list = sessionId === null ? undefined : state.viewsBySession.get(sessionId);
    if (sessionId !== null && list !== undefined) {
      state.viewsBySession.set(
        sessionId,
        list.filter((v) => v.id !== id),
      );
    }
  }
  for (const key of metricKeys) state.metrics.delete(key);
  for (const id of conversionIds) state.conversions.delete(id);
  // The converted-session index names sessions of the remaining conversions only.
  state.convertedSessions.clear();
  for (const conversion of state.conversions.values()) {
    for (const id of conversion.sessionIds) state.convertedSessions.add(id);
  }
  return { sessions, pageViews: viewIds.size, metrics: metricKeys.length, conversions: conversionIds.length };
}
