// SIGNATURE STUB — the core-engine helper implements these.
import type { DailyAggregate, PageMetric, PageView } from './types.js';

/** An aggregate row with the set of visitor keys behind `uniqueVisitors`: a monoid under `mergeAggregates`. */
export interface AggregateAccumulator {
  row: DailyAggregate;
  visitors: Set<string>;
}

export declare function emptyAggregate(day: string, path: string): DailyAggregate;
/** Add one (new) page view to a row; `isNewVisitor` says whether its visitor is new for (day, path). */
export declare function applyView(row: DailyAggregate, view: PageView, isNewVisitor: boolean): void;
/** Add one (new) metric to a row. */
export declare function applyMetric(row: DailyAggregate, metric: PageMetric): void;
/** Merge two accumulators of the same (day, path): associative, with `emptyAggregate` as identity. */
export declare function mergeAggregates(a: AggregateAccumulator, b: AggregateAccumulator): AggregateAccumulator;
/** Brute-force recomputation of every daily row from page views and metrics. Sorted by day, then path. */
export declare function recomputeAggregates(views: PageView[], metrics: PageMetric[]): DailyAggregate[];
