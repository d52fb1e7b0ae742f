import type { Conversion, DailyAggregate, PageMetric, PageView, Session } from '@anon/core';

/** One visitor already counted in an aggregate row's `uniqueVisitors`. */
export interface UniqueVisitor {
  day: string;
  path: string;
  visitorKey: string;
}

/**
 * The whole "database" of the array store: plain arrays of plain objects, so it can be inspected, printed or
 * saved as JSON. Page views, metrics, conversions, unique visitors and applied batch ids are only ever
 * appended (and removed by `purge`); sessions and aggregate rows are updated in place.
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
    batches: [],
  };
}
