/**
 * The summed columns of `daily_aggregates`, in the order the write statements list them (core's
 * `DailyAggregate` counts, in SQL names).
 */
export const AGGREGATE_COLUMNS = [
  'views',
  'authenticated_views',
  'anonymous_views',
  'unique_visitors',
  'time_on_page_sum_ms',
  'time_on_page_count',
  'scroll_depth_sum',
  'scroll_depth_count',
  'interactions',
  'mobile_views',
  'desktop_views',
  'tablet_views',
  'bot_views',
  'bot_authenticated_views',
] as const;

export type AggregateColumn = (typeof AGGREGATE_COLUMNS)[number];

/**
 * Select list of the aggregate columns of rows of `(metric, value)`, in `AGGREGATE_COLUMNS` order: the metric
 * sums and counts (core's `applyMetric`), zero for every other column.
 */
export const METRIC_INCREMENTS = AGGREGATE_COLUMNS.map((c) => {
  switch (c) {
    case 'time_on_page_sum_ms':
      return `coalesce(sum(value) FILTER (WHERE metric = 'time_on_page'), 0)`;
    case 'time_on_page_count':
      return `count(*) FILTER (WHERE metric = 'time_on_page')`;
    case 'scroll_depth_sum':
      return `coalesce(sum(value) FILTER (WHERE metric = 'scroll_depth'), 0)`;
    case 'scroll_depth_count':
      return `count(*) FILTER (WHERE metric = 'scroll_depth')`;
    case 'interactions':
      return `coalesce(sum(value) FILTER (WHERE metric = 'interactions'), 0)`;
    default:
      return '0';
  }
}).join(', ');

/** Select list of the aggregate columns with `unique_visitors` = `count(*)` and zero elsewhere. */
export const VISITOR_INCREMENTS = AGGREGATE_COLUMNS.map((c) =>
  c === 'unique_visitors' ? 'count(*)' : '0',
).join(', ');

/** `sum(c) AS c` for every aggregate column: one row per (day, path) from several increment rows. */
export const SUMMED = AGGREGATE_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(', ');
