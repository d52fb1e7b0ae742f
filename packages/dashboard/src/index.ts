export { type Authorize, type DashboardContext, isLoopback, loopbackOnly } from './authorize.js';
export { createDashboard, type DashboardOptions, MAX_FUNNEL_STEPS, parseSteps } from './dashboard.js';
export { type DateRange, DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS, parseRange } from './date-range.js';
export { escapeHtml } from './html.js';
export {
  type DashboardHandler,
  type NodeDashboardHandler,
  type NodeRequestLike,
  type NodeResponseLike,
  toNodeHandler,
} from './node.js';
export type {
  ActiveVisitors,
  DashboardReports,
  DashboardSummary,
  DayPoint,
  FunnelPanel,
  Overview,
  RealtimePanel,
  RealtimeSource,
} from './summary.js';
