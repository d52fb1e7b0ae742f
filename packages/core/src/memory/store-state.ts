import type {
  Conversion,
  DailyAggregate,
  Day,
  PageMetric,
  PageView,
  Session,
  SessionRollup,
  Touch,
  VisitorRollup,
} from '../types.js';

/** Everything a memory store holds, with the indexes its writes and reports need. */
export interface StoreState {
  /** Applied batch ids, oldest first (a `Set` keeps insertion order, so the oldest is evicted first). */
  readonly batches: Set<string>;
  readonly pageViews: Map<string, PageView>;
  /** Page views of each session, in write order (reports sort them by `seq`). */
  readonly viewsBySession: Map<string, PageView[]>;
  /** Keyed `<viewId>:<metric>`, the metric's event id. */
  readonly metrics: Map<string, PageMetric>;
  readonly sessions: Map<string, Session>;
  readonly sessionsByDay: Map<Day, Set<string>>;
  readonly sessionsByVisitor: Map<string, Set<string>>;
  readonly conversions: Map<string, Conversion>;
  /** Ids of sessions named by any conversion (conversions are never purged; `eraseUser` rebuilds it). */
  readonly convertedSessions: Set<string>;
  /** day → path → row. */
  readonly aggregates: Map<Day, Map<string, DailyAggregate>>;
  /**
   * day → path → visitor key → that visitor's human page views counted in the row. A key present is counted
   * in `uniqueVisitors`; it leaves when a `botsession` re-flags the last of them.
   */
  readonly uniques: Map<Day, Map<string, Map<string, number>>>;
  /** Sessions a `botsession` event flagged: their page views and metrics are bots', stored or to come. */
  readonly botSessions: Set<string>;
  /** Metric keys (`<viewId>:<metric>`) of each session, for the re-flag of a `botsession`. */
  readonly metricsBySession: Map<string, Set<string>>;
  /** What `purge` kept of the sessions it removed, keyed by `rollupKey`. */
  readonly sessionRollups: Map<string, SessionRollup>;
  /** What `purge` kept of the visitors of the page views it removed, keyed by `visitorRollupKey`. */
  readonly visitorRollups: Map<string, VisitorRollup>;
  /** `claimDailyJob`: job → days claimed. */
  readonly dailyJobs: Map<string, Set<Day>>;
}

/** An empty store. */
export function createStoreState(): StoreState {
  return {
    batches: new Set(),
    pageViews: new Map(),
    viewsBySession: new Map(),
    metrics: new Map(),
    sessions: new Map(),
    sessionsByDay: new Map(),
    sessionsByVisitor: new Map(),
    conversions: new Map(),
    convertedSessions: new Set(),
    aggregates: new Map(),
    uniques: new Map(),
    botSessions: new Set(),
    metricsBySession: new Map(),
    sessionRollups: new Map(),
    visitorRollups: new Map(),
    dailyJobs: new Map(),
  };
}

// Stores and reports hand out copies: a caller mutating a result must never change what is stored.

/** A page view that shares nothing with `v`. */
export const copyView = (v: PageView): PageView => ({ ...v, botReasons: [...v.botReasons] });

/** A session that shares nothing with `s`. */
export const copySession = (s: Session): Session => ({ ...s });

/** An aggregate row that shares nothing with `a`. */
export const copyAggregate = (a: DailyAggregate): DailyAggregate => ({ ...a });

const copyTouch = (t: Touch | null): Touch | null => (t === null ? null : { ...t });

/** A conversion that shares nothing with `c` (its session ids and touches copied too). */
export const copyConversion = (c: Conversion): Conversion => ({
  ...c,
  sessionIds: [...c.sessionIds],
  firstTouch: copyTouch(c.firstTouch),
  lastTouch: copyTouch(c.lastTouch),
});

/** Adds `value` to the set under `key`, creating it; returns false when it was already there. */
export function addToIndex<K, V>(index: Map<K, Set<V>>, key: K, value: V): boolean {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  if (set.has(value)) return false;
  set.add(value);
  return true;
}

/** Removes `value` from the set under `key`, and the set once empty. */
export function removeFromIndex<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}
