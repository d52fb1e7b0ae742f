import { compareCodePoints } from './memory/code-point-order.js';
import type { DailyAggregate, PageMetric, PageView } from './types.js';

/** An aggregate row with the set of visitor keys behind `uniqueVisitors`: a monoid under `mergeAggregates`. */
export interface AggregateAccumulator {
  row: DailyAggregate;
  visitors: Set<string>;
}

/** A zeroed aggregate row for one (day, path). */
export function emptyAggregate(day: string, path: string): DailyAggregate {
  return {
    day,
    path,
    views: 0,
    authenticatedViews: 0,
    anonymousViews: 0,
    uniqueVisitors: 0,
    timeOnPageSumMs: 0,
    timeOnPageCount: 0,
    scrollDepthSum: 0,
    scrollDepthCount: 0,
    interactions: 0,
    mobileViews: 0,
    desktopViews: 0,
    tabletViews: 0,
    botViews: 0,
    botAuthenticatedViews: 0,
  };
}

/**
 * Add one newly stored page view to its row, as every store's write path does: a bot view only counts in
 * `botViews` (and `botAuthenticatedViews` when authenticated); `isNewVisitor` says whether its (non-null)
 * visitor key is new for the row's (day, path).
 */
export function applyView(row: DailyAggregate, view: PageView, isNewVisitor: boolean): void {
  if (view.isBot) {
    row.botViews += 1;
    if (view.authenticated) row.botAuthenticatedViews += 1;
    return;
  }
  row.views += 1;
  if (view.authenticated) row.authenticatedViews += 1;
  else row.anonymousViews += 1;
  if (view.device === 'mobile') row.mobileViews += 1;
  else if (view.device === 'tablet') row.tabletViews += 1;
  else row.desktopViews += 1;
  if (isNewVisitor && view.visitorKey !== null) row.uniqueVisitors += 1;
}

/** Add one newly stored metric to its row; metrics of bot views are not aggregated. */
export function applyMetric(row: DailyAggregate, metric: PageMetric): void {
  if (metric.isBot) return;
  switch (metric.metric) {
    case 'time_on_page':
      row.timeOnPageSumMs += metric.value;
      row.timeOnPageCount += 1;
      break;
    case 'scroll_depth':
      row.scrollDepthSum += metric.value;
      row.scrollDepthCount += 1;
      break;
    case 'interactions':
      row.interactions += metric.value;
      break;
  }
}

/**
 * Move one stored human page view to the bot counts of its row, when its session became a bot session (a
 * `botsession` event, docs/semantics.md "Bot sessions"): what `applyView` counted for it as human is taken
 * back and it counts as a bot view. `lastOfVisitor` says its visitor has no other human view counted on the
 * row's (day, path), so the visitor leaves `uniqueVisitors` (a store removes its unique-visitor entry too).
 * Call it once per view, only for a view that was stored human; the caller flags the view itself.
 */
export function moveViewToBots(row: DailyAggregate, view: PageView, lastOfVisitor: boolean): void {
  row.views -= 1;
  if (view.authenticated) row.authenticatedViews -= 1;
  else row.anonymousViews -= 1;
  if (view.device === 'mobile') row.mobileViews -= 1;
  else if (view.device === 'tablet') row.tabletViews -= 1;
  else row.desktopViews -= 1;
  if (lastOfVisitor && view.visitorKey !== null) row.uniqueVisitors -= 1;
  row.botViews += 1;
  if (view.authenticated) row.botAuthenticatedViews += 1;
}

/**
 * Take one stored human metric out of its row, when its session became a bot session: the reverse of
 * `applyMetric` (bot metrics are not aggregated). Only for a metric that was stored human.
 */
export function removeMetric(row: DailyAggregate, metric: PageMetric): void {
  switch (metric.metric) {
    case 'time_on_page':
      row.timeOnPageSumMs -= metric.value;
      row.timeOnPageCount -= 1;
      break;
    case 'scroll_depth':
      row.scrollDepthSum -= metric.value;
      row.scrollDepthCount -= 1;
      break;
    case 'interactions':
      row.interactions -= metric.value;
      break;
  }
}

/** The identity of `mergeAggregates` for one (day, path). */
export function emptyAccumulator(day: string, path: string): AggregateAccumulator {
  return { row: emptyAggregate(day, path), visitors: new Set() };
}

/** Add one page view to an accumulator (the visitor set decides uniqueness exactly). */
export function accumulateView(acc: AggregateAccumulator, view: PageView): void {
  const isNew = !view.isBot && view.visitorKey !== null && !acc.visitors.has(view.visitorKey);
  if (isNew && view.visitorKey !== null) acc.visitors.add(view.visitorKey);
  applyView(acc.row, view, isNew);
}

const SUMMED = [
  'views',
  'authenticatedViews',
  'anonymousViews',
  'timeOnPageSumMs',
  'timeOnPageCount',
  'scrollDepthSum',
  'scrollDepthCount',
  'interactions',
  'mobileViews',
  'desktopViews',
  'tabletViews',
  'botViews',
  'botAuthenticatedViews',
] as const satisfies readonly (keyof DailyAggregate)[];

/**
 * Merge two accumulators of the same (day, path): counters add, unique visitors are the size of the union of
 * the visitor sets (so a visitor seen in both halves counts once). Associative and commutative, with
 * `emptyAccumulator` as identity. Returns a new accumulator; the inputs are not changed.
 */
export function mergeAggregates(a: AggregateAccumulator, b: AggregateAccumulator): AggregateAccumulator {
  const row = emptyAggregate(a.row.day, a.row.path);
  for (const key of SUMMED) row[key] = a.row[key] + b.row[key];
  const visitors = new Set(a.visitors);
  for (const key of b.visitors) visitors.add(key);
  row.uniqueVisitors = visitors.size;
  return { row, visitors };
}

/**
 * Brute-force recomputation of every daily row from stored page views and metrics, by the same rules as the
 * store write path (first write of an id wins). Sorted by day, then path.
 */
export function recomputeAggregates(views: PageView[], metrics: PageMetric[]): DailyAggregate[] {
  const rows = new Map<string, AggregateAccumulator>();
  const rowFor = (day: string, path: string): AggregateAccumulator => {
    const key = `${day}\u0000${path}`;
    let acc = rows.get(key);
    if (acc === undefined) {
      acc = emptyAccumulator(day, path);
      rows.set(key, acc);
    }
    return acc;
  };
  const seenViews = new Set<string>();
  for (const view of views) {
    if (seenViews.has(view.id)) continue;
    seenViews.add(view.id);
    accumulateView(rowFor(view.day, view.path), view);
  }
  const seenMetrics = new Set<string>();
  for (const metric of metrics) {
    const id = `${metric.viewId}:${metric.metric}`;
    if (seenMetrics.has(id)) continue;
    seenMetrics.add(id);
    if (metric.isBot) continue;
    applyMetric(rowFor(metric.day, metric.path).row, metric);
  }
  return (
    [...rows.values()]
      .map((acc) => acc.row)
      // Code-point order, as every store sorts (UTF-16 `<` would put U+E000–U+FFFF after astral characters).
      .sort((x, y) => compareCodePoints(x.day, y.day) || compareCodePoints(x.path, y.path))
  );
}
