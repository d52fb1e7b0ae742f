// What an adapter author needs from core: the domain rules every store applies the same way. A store keeps
// only storage; these decide what is stored and in which order (docs/architecture.md names each rule's home).
export {
  type AggregateAccumulator,
  accumulateView,
  applyMetric,
  applyView,
  emptyAccumulator,
  emptyAggregate,
  mergeAggregates,
  moveViewToBots,
  recomputeAggregates,
  removeMetric,
} from '../aggregate.js';
export { touchOf } from '../conversion.js';
export { compareCodePoints, compareKeyLists, compareKeys } from '../memory/code-point-order.js';
export { withRateReason } from './bot-session.js';
export { checkBatch, STORED_EVENT_BODY } from './check-batch.js';
export { checkEraseUser } from './check-erase.js';
export {
  type CheckedQuery,
  checkFunnelSteps,
  checkMaxSteps,
  checkQuery,
  checkVisitorSessions,
  DEFAULT_MAX_STEPS,
  DEFAULT_REPORT_LIMIT,
  MAX_FUNNEL_STEPS,
  MAX_PATH_PATTERN,
  MAX_VISITOR_KEYS,
} from './check-query.js';
export { isCalendarDay } from './day-check.js';
export {
  checkActiveVisitors,
  checkClaimExpired,
  checkEngage,
  checkHotIdentify,
  checkHotTime,
  checkRecordInput,
  checkSessionIds,
  checkSessionRules,
} from './hot-store-checks.js';
export {
  foldViews,
  isLiveVisitorSession,
  isVisitorRollup,
  type LiveSession,
  liveSession,
  mergeLive,
  type SessionSource,
  type SummaryPart,
  type ViewFold,
} from './live-session.js';
export { createLogThrottle, type LogThrottle, type LogThrottleOptions } from './log-throttle.js';
export {
  buildOverview,
  countedViews,
  countriesOf,
  entryPagesOf,
  exitPagesOf,
  overviewViewDays,
  type SessionDayFigures,
  type StoredViewDayFigures,
  sessionDays,
  sessionsReportOf,
  storedViewDays,
  type ViewDayFigures,
  viewDays,
} from './overview.js';
export {
  compareCampaignRows,
  compareCounted,
  compareJourneyRows,
  funnelStepsReached,
} from './report-order.js';
export {
  addSessionRollup,
  addVisitorRollup,
  type BotSelection,
  botSelectionOf,
  type CheckedPurge,
  checkClaimDailyJob,
  checkPurge,
  foldSessionRollups,
  isVisitorSession,
  MAX_DAILY_JOB_NAME,
  purgesSession,
  purgesUnsessionedView,
  type RollupSummaryPart,
  rollupKey,
  rollupsIn,
  SESSION_ROLLUP_KEY_FIELDS,
  type SessionRollupKey,
  sessionRollupOf,
  type VisitorViewPart,
  visitorRollupDays,
  visitorRollupKey,
  visitorRollupsOf,
} from './rollup.js';
export {
  MERGED_SESSION_FIELDS,
  type MergedSessionField,
  mergeSession,
  sessionChanged,
} from './session-merge.js';
export { checkStoreSettings, DEFAULT_STORE_SETTINGS, purgeCutoffDay } from './store-settings.js';
