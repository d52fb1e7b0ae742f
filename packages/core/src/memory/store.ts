import { applyMetric, applyView, emptyAggregate } from '../aggregate.js';
import { AnonError } from '../errors.js';
import type { Store, WriteResult } from '../ports.js';
import type {
  AnonEvent,
  Conversion,
  DailyAggregate,
  EventBatch,
  PageMetric,
  PageView,
  PurgeResult,
  Session,
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
}

/** The in-memory store, with a raw dump for tests. */
export interface MemoryStore extends Store {
  /** Copies of everything held, for probes and exports. */
  dump(): MemoryStoreContents;
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

  return {
    async write(batch: EventBatch): Promise<WriteResult> {
      // Every event is checked before any is applied: a bad batch changes nothing.
      checkBatch(batch);
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
      for (const key of new Set(visitorKeys)) {
        for (const id of state.sessionsByVisitor.get(key) ?? []) {
          const s = state.sessions.get(id);
          if (s !== undefined && s.startedAt >= since && s.startedAt <= until) found.push(copySession(s));
        }
      }
      return found.sort((a, b) => a.startedAt - b.startedAt || compareCodePoints(a.id, b.id));
    },

    async purge(before, purgeOptions) {
      if (!Number.isFinite(before)) {
        throw new AnonError('invalid_input', 'before must be a finite number of milliseconds', {
          source: 'memory',
        });
      }
      return purge(state, before, purgeOptions?.dryRun === true);
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
      };
    },
  };
}

const EVENT_TYPES = new Set(['pageview', 'metric', 'session', 'conversion']);

function checkBatch(batch: EventBatch): void {
  if (batch === null || typeof batch !== 'object' || typeof batch.id !== 'string' || batch.id === '') {
    throw new AnonError('invalid_input', 'a batch needs a non-empty string id', { source: 'memory' });
  }
  if (!Array.isArray(batch.events)) {
    throw new AnonError('invalid_input', `batch ${batch.id}: events must be an array`, { source: 'memory' });
  }
  for (const event of batch.events as unknown[]) {
    const type = (event as { type?: unknown } | null)?.type;
    if (type === 'identify') {
      throw new AnonError(
        'invalid_input',
        `batch ${batch.id}: identify events are resolved by the worker, not stored`,
        {
          source: 'memory',
        },
      );
    }
    if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
      throw new AnonError(
        'invalid_input',
        `batch ${batch.id}: unknown event type ${String(type).slice(0, 50)}`,
        {
          source: 'memory',
        },
      );
    }
    const body = (event as Record<string, unknown>)[type === 'pageview' ? 'view' : type];
    if (body === null || typeof body !== 'object') {
      throw new AnonError('invalid_input', `batch ${batch.id}: a ${type} event needs its ${type} object`, {
        source: 'memory',
      });
    }
  }
}

/** Applies one event; true when it changed something. */
function applyEvent(state: StoreState, event: AnonEvent): boolean {
  switch (event.type) {
    case 'pageview':
      return insertView(state, event.view);
    case 'metric':
      return insertMetric(state, event.metric);
    case 'session':
      return mergeSession(state, event.session);
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

function insertView(state: StoreState, incoming: PageView): boolean {
  if (state.pageViews.has(incoming.id)) return false;
  const view = copyView(incoming);
  state.pageViews.set(view.id, view);
  if (view.sessionId !== null) {
    const list = state.viewsBySession.get(view.sessionId);
    if (list === undefined) state.viewsBySession.set(view.sessionId, [view]);
    else list.push(view);
  }
  // Bot views count only in `botViews`: their visitors do not enter the unique set.
  let isNewVisitor = false;
  if (!view.isBot && view.visitorKey !== null) {
    let paths = state.uniques.get(view.day);
    if (paths === undefined) {
      paths = new Map();
      state.uniques.set(view.day, paths);
    }
    isNewVisitor = addToIndex(paths, view.path, view.visitorKey);
  }
  applyView(aggregateRow(state, view.day, view.path), view, isNewVisitor);
  return true;
}

function insertMetric(state: StoreState, incoming: PageMetric): boolean {
  const key = `${incoming.viewId}:${incoming.metric}`;
  if (state.metrics.has(key)) return false;
  const metric = { ...incoming };
  state.metrics.set(key, metric);
  if (!metric.isBot) applyMetric(aggregateRow(state, metric.day, metric.path), metric);
  return true;
}

/** The monotonic merge of docs/semantics.md: repeated or out-of-order summaries converge. */
function mergeSession(state: StoreState, incoming: Session): boolean {
  const stored = state.sessions.get(incoming.id);
  if (stored === undefined) {
    const session = copySession(incoming);
    session.durationMs = session.lastSeenAt - session.startedAt;
    state.sessions.set(session.id, session);
    addToIndex(state.sessionsByDay, session.day, session.id);
    addToIndex(state.sessionsByVisitor, session.visitorKey, session.id);
    return true;
  }
  const incomingIsLater =
    incoming.lastSeenAt > stored.lastSeenAt ||
    (incoming.lastSeenAt === stored.lastSeenAt && incoming.pageViews > stored.pageViews);
  const merged: Pick<Session, MergedField> = {
    startedAt: Math.min(stored.startedAt, incoming.startedAt),
    lastSeenAt: Math.max(stored.lastSeenAt, incoming.lastSeenAt),
    endedAt: maxOfSet(stored.endedAt, incoming.endedAt),
    pageViews: Math.max(stored.pageViews, incoming.pageViews),
    exitPath: incomingIsLater ? incoming.exitPath : stored.exitPath,
    userId: stored.userId ?? incoming.userId,
    isBot: stored.isBot || incoming.isBot,
    // The conversion pair moves together: a user id never sits with another conversion's time.
    convertedUserId: stored.convertedUserId ?? incoming.convertedUserId,
    convertedAt: stored.convertedUserId !== null ? stored.convertedAt : incoming.convertedAt,
    durationMs: 0,
  };
  merged.durationMs = merged.lastSeenAt - merged.startedAt;
  let changed = false;
  for (const field of MERGED_FIELDS) {
    if (stored[field] !== merged[field]) {
      changed = true;
      (stored as Record<MergedField, unknown>)[field] = merged[field];
    }
  }
  return changed;
}

type MergedField =
  | 'startedAt'
  | 'lastSeenAt'
  | 'endedAt'
  | 'pageViews'
  | 'exitPath'
  | 'userId'
  | 'isBot'
  | 'convertedUserId'
  | 'convertedAt'
  | 'durationMs';

/** The fields a later summary can change; every other field keeps its first write. */
const MERGED_FIELDS: readonly MergedField[] = [
  'startedAt',
  'lastSeenAt',
  'endedAt',
  'pageViews',
  'exitPath',
  'userId',
  'isBot',
  'convertedUserId',
  'convertedAt',
  'durationMs',
];

function maxOfSet(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
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

function purge(state: StoreState, before: number, dryRun: boolean): PurgeResult {
  const sessions: Session[] = [];
  for (const session of state.sessions.values()) {
    const kept =
      session.startedAt >= before ||
      session.userId !== null ||
      session.convertedUserId !== null ||
      state.convertedSessions.has(session.id);
    if (!kept) sessions.push(session);
  }
  const sessionIds = new Set(sessions.map((s) => s.id));
  const viewIds = new Set<string>();
  for (const id of sessionIds) for (const view of state.viewsBySession.get(id) ?? []) viewIds.add(view.id);
  // Aggregate-only views (DNT / Sec-GPC) belong to no session: they go by their own time.
  for (const view of state.pageViews.values()) {
    if (view.sessionId === null && view.at < before) viewIds.add(view.id);
  }
  const metricKeys: string[] = [];
  for (const [key, metric] of state.metrics) {
    const ofPurged =
      viewIds.has(metric.viewId) ||
      (metric.sessionId !== null ? sessionIds.has(metric.sessionId) : metric.at < before);
    if (ofPurged) metricKeys.push(key);
  }
  const result: PurgeResult = {
    sessions: sessions.length,
    pageViews: viewIds.size,
    metrics: metricKeys.length,
  };
  if (dryRun) return result;

  for (const session of sessions) {
    state.sessions.delete(session.id);
    state.viewsBySession.delete(session.id);
    removeFromIndex(state.sessionsByDay, session.day, session.id);
    removeFromIndex(state.sessionsByVisitor, session.visitorKey, session.id);
  }
  for (const id of viewIds) state.pageViews.delete(id);
  for (const key of metricKeys) state.metrics.delete(key);
  // Unique-visitor sets are only needed while a day can still receive views.
  const cutoffDay = utcDay(before);
  for (const day of state.uniques.keys()) if (day < cutoffDay) state.uniques.delete(day);
  return result;
}

/** `YYYY-MM-DD` of `at` in UTC, clamped to years 0000–9999 so the string keeps its four-digit shape. */
function utcDay(at: number): string {
  return new Date(Math.min(253_402_300_799_999, Math.max(-62_167_219_200_000, at)))
    .toISOString()
    .slice(0, 10);
}
