import type {
  Conversion,
  DailyAggregate,
  Day,
  PageMetric,
  PageView,
  Session,
  SessionRollup,
  VisitorRollup,
} from '@anon/core';

/** One visitor already counted in an aggregate row's `uniqueVisitors`. */
export interface UniqueVisitor {
  day: string;
  path: string;
  visitorKey: string;
  /**
   * The visitor's human page views counted in the row. A `botsession` event moving one to the bots takes 1
   * away; at 0 the visitor leaves the row (the entry goes, `uniqueVisitors` − 1).
   */
  views: number;
}

/** One `claimDailyJob` won: the key of a once-a-day job. */
export interface DailyJobClaim {
  job: string;
  day: Day;
}

/**
 * The whole "database" of the array store: plain arrays of plain objects, so it can be inspected, printed or
 * saved as JSON. Page views, metrics, conversions, unique visitors, bot sessions, claims and applied batch ids
 * are appended (and removed by `purge` or `eraseUser`); a `botsession` event flags a session's stored page
 * views and metrics as bots in place and takes unique visitors away; sessions and aggregate rows are updated in
 * place; rollup rows are added to in place and never removed.
 */
export interface Tables {
  pageViews: PageView[];
  metrics: PageMetric[];
  sessions: Session[];
  conversions: Conversion[];
  /** One row per (day, path), counters kept up to date on every write. */
  aggregates: DailyAggregate[];
  /** Visitors counted per (day, path), so `uniqueVisitors` stays exact across batches. */
  uniques: UniqueVisitor[];
  /** Ids of the sessions a `botsession` event flagged: their rows written later are stored as bots. */
  botSessions: string[];
  /** What `purge` kept of the sessions it removed: one row per distinct key (no identifiers), only added to. */
  sessionRollups: SessionRollup[];
  /** What `purge` kept of the visitors of the page views it removed: one row per (day, path or null). */
  visitorRollups: VisitorRollup[];
  /** `claimDailyJob`'s claims, one per (job, day). */
  dailyJobs: DailyJobClaim[];
  /** Ids of the batches already applied: the ledger that makes a replayed batch a no-op. */
  batches: string[];
}

/** Empty tables, ready for `arrayStore`. */
export function createTables(): Tables {
  return {
    pageViews: [],
    metrics: [],
    sessions: [],
    conversions: [],
    aggregates: [],
    uniques: [],
    botSessions: [],
    sessionRollups: [],
    visitorRollups: [],
    dailyJobs: [],
    batches: [],
  };
}

/**
 * The stored page views of each session (views of no session left out), in session order: what a database
 * reads with an index on `page_views (session_id, seq)`.
 */
export function viewsBySession(pageViews: readonly PageView[]): Map<string, PageView[]> {
  const bySession = new Map<string, PageView[]>();
  for (const view of pageViews) {
    if (view.sessionId === null) continue;
    const list = bySession.get(view.sessionId) ?? [];
    list.push(view);
    bySession.set(view.sessionId, list);
  }
  for (const list of bySession.values()) list.sort((a, b) => a.seq - b.seq);
  return bySession;
}
