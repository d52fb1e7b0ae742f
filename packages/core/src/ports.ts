import type {
  ActiveVisitors,
  AnonEvent,
  BotsReport,
  CampaignRow,
  ConversionsReport,
  CountryRow,
  DailyAggregate,
  Day,
  DevicesReport,
  EntryPageRow,
  EventBatch,
  ExitPageRow,
  FunnelStepRow,
  HotSession,
  JourneyRow,
  Millis,
  OverviewReport,
  PageView,
  PurgeOptions,
  PurgeResult,
  ReferrerRow,
  ReportQuery,
  Session,
  SessionsReport,
  TopPageRow,
} from './types.js';

// ---------------------------------------------------------------- hot store

/** The rules a hot store applies atomically; they come from the tracker's config. */
export interface SessionRules {
  /** Longest gap between two page views of one session; a longer one starts a new session. @default 1_800_000 (30 min) */
  sessionTimeoutMs: number;
  /** Session summary written on the 1st view and every Nth. @default 5 */
  persistEvery: number;
  /**
   * More page views than this per visitor per minute makes the session a bot session (`rate`): that view, every
   * later one and, retroactively, its earlier ones count as bot views. @default 60
   */
  botMaxViewsPerMinute: number;
  /** Window for active visitors. @default 300_000 (5 min) */
  realtimeWindowMs: number;
}

/** A page view before the hot store has placed it in a session. */
export type ViewDraft = Omit<PageView, 'sessionId' | 'seq' | 'visitorKey'>;

export interface RecordInput {
  visitorKey: string;
  /** The key under yesterday's salt, given only shortly after a rotation so a session can continue. */
  previousVisitorKey: string | null;
  view: ViewDraft;
  /** Used only if this view starts a session. */
  newSessionId: string;
  /** Real-time scopes this view counts in (`page:/posts/:id`, `community:x`); overall is always counted. */
  scopes: string[];
}

/** What the previous view of the session learned from this one. */
export interface PreviousView {
  id: string;
  at: Millis;
  day: string;
  path: string;
  isBot: boolean;
  /** This view's time − previous view's time, capped at the timeout. */
  timeOnPageMs: number;
}

/** Output of the `sessionize` reducer, and of `HotStore.recordPageView` (which applies it atomically). */
export interface SessionStep {
  /** The session after this view. */
  session: HotSession;
  isNew: boolean;
  /** The visitor's previous session, ended because the gap exceeded the timeout: finalize it now. */
  ended: HotSession | null;
  previousView: PreviousView | null;
  /** Write the session summary now (first view, every Nth). */
  persist: boolean;
  /**
   * This view's position in the session (1-based) and its bot verdict: its own, the rate check's, or its
   * session's (a view continuing a bot session is a bot view).
   */
  seq: number;
  isBot: boolean;
  /**
   * This view turned a human session into a bot session: its earlier views, counted as human, are bot views
   * now (the engine emits a `botsession` event). False for a session that starts as a bot.
   */
  becameBot: boolean;
  /** Page views from this visitor in the current minute, this one included. */
  viewsThisMinute: number;
}

export interface SaltPair {
  /** Index of the 24 h period (floor(now / 86_400_000)). */
  period: number;
  current: string;
  /** Yesterday's salt, while it still exists (gone 48 h after its period began). */
  previous: string | null;
}

export interface EngageResult {
  sessionId: string;
  day: string;
  at: Millis;
  path: string;
  isBot: boolean;
}

/**
 * Hot session state: one atomic operation per page view. Implementations: `memoryHotStore` (core),
 * `redisHotStore` (@anon/redis). Every implementation passes `hotStoreContract` from @anon/testing.
 */
export interface HotStore {
  /** The shared salt for `now`'s 24 h period, created once for all instances. */
  salt(now: Millis): Promise<SaltPair>;
  /** Continue or start the visitor's session with this view, atomically. */
  recordPageView(input: RecordInput, rules: SessionRules): Promise<SessionStep>;
  /**
   * The batch form of `recordPageView`: each view is applied atomically and in the order given, exactly as
   * `recordPageView` would apply it called once per view in that order; the steps come back in the same
   * order. Inputs are checked before any is applied: one invalid input rejects the call and applies nothing.
   * A transport failure rejects the call; views already applied by then stay applied (as with a lost reply
   * to `recordPageView`). The engine sends every page view through this method, one call per batch.
   */
  recordPageViews(inputs: readonly RecordInput[], rules: SessionRules): Promise<SessionStep[]>;
  /**
   * Record the beacon's engaged time if `viewId` is still the session's last view; null otherwise. The time
   * kept is capped at `now` − the view's time (a beacon cannot claim more time than has passed), and is the
   * largest reported so far. With `engagedMs` null nothing changes: it only asks whether `viewId` is last.
   */
  engage(
    visitorKey: string,
    viewId: string,
    engagedMs: number | null,
    now: Millis,
  ): Promise<EngageResult | null>;
  /** Attach a user id to the visitor's live session; returns it, or null if there is none. */
  identify(visitorKey: string, userId: string, now: Millis): Promise<HotSession | null>;
  /**
   * Distinct visitors with a non-bot view in `(now − windowMs, now]`, overall or in one scope: `total`, of
   * them `authenticated` (a view in the window carried a user id) and `anonymous` (`total − authenticated`).
   */
  activeVisitors(now: Millis, windowMs: number, scope?: string): Promise<ActiveVisitors>;
  /**
   * Claim up to `limit` sessions idle past the timeout. A claimed session is returned to no other caller
   * until `leaseMs` has passed without `complete`.
   */
  claimExpired(now: Millis, rules: SessionRules, limit: number, leaseMs: number): Promise<HotSession[]>;
  /**
   * For a store with a cap on live sessions (the in-process one): true while it holds more than its cap. The
   * engine then sweeps at once, and `claimExpired` hands over the oldest sessions beyond the cap.
   */
  overCapacity?(): boolean;
  /** Forget sessions whose finalization has been enqueued. */
  complete(sessionIds: string[]): Promise<void>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- store

export interface WriteResult {
  /** False when the batch id was already applied (nothing changed). */
  applied: boolean;
  /** Events that changed something (new page views, metrics, conversions; session merges). */
  written: number;
}

/**
 * The rules a store needs from the tracker's config, handed over once by `init` so a user states them in one
 * place (the tracker) and never again on the store.
 */
export interface StoreSettings {
  /** IANA time zone the tracker counts days in (`day` fields, the purge's cut-off day). @default 'UTC' */
  timeZone: string;
  /**
   * Days anonymous sessions, their page views and metrics are kept; `purge` and TTL-based stores use it.
   * @default 90
   */
  retentionDays: number;
}

/**
 * The write side of the store of record: all the worker needs. `write` is idempotent by batch id and by
 * event id: replaying a batch, or an event in another batch, leaves every row and aggregate unchanged. A
 * custom store passes `storeWriterContract` from @anon/testing first, then `reportsContract`.
 */
export interface StoreWriter {
  /**
   * Receive the tracker's settings before the first write. The tracker calls it once at start (and a store
   * used without a tracker works on the defaults of {@link StoreSettings}); calling it again with the same
   * settings changes nothing. Rejects with `invalid_config` on settings the store cannot honour.
   */
  init?(settings: StoreSettings): Promise<void> | void;
  /** Write page views, metrics, session summaries and conversions. Never receives `identify` events. */
  write(batch: EventBatch): Promise<WriteResult>;
  /** Sessions of these visitor keys started in [since, until], for conversion matching. */
  visitorSessions(visitorKeys: string[], since: Millis, until: Millis): Promise<Session[]>;
  /**
   * Delete anonymous sessions (no user id, not converted) and their page views and metrics started before
   * `before` — and, with `authenticatedBefore`, authenticated sessions started before that — folding the
   * removed sessions into `SessionRollup` rows and their visitors into `VisitorRollup` rows in the same atomic
   * step, so the session-level reports of a purged day do not change. With `dryRun`, count what would go and
   * change nothing. Replay-safe: a purge interrupted and run again folds each session exactly once.
   */
  purge(before: Millis, options?: PurgeOptions): Promise<PurgeResult>;
  /**
   * Claim a once-a-day job: resolves true for exactly one caller per (`job`, `day`) across every instance
   * sharing this store, false for the others. The worker uses it to run retention once per day.
   */
  claimDailyJob?(job: string, day: Day): Promise<boolean>;
  /**
   * Erase one user (GDPR art. 17): the sessions whose `userId` or `convertedUserId` is `userId`, the sessions
   * named by that user's conversion, their page views and metrics, any other page view carrying `userId` (and
   * its metrics), and the user's conversion. Aggregates hold only counts and stay as they are. Idempotent: a
   * second call finds nothing and returns zeros. Rejects with `invalid_input` on an id that is not a non-empty
   * string (`checkEraseUser` from `@anon/core/adapter`).
   */
  eraseUser(userId: string): Promise<EraseResult>;
  close?(): Promise<void>;
}

/** What `StoreWriter.eraseUser` removed. */
export interface EraseResult {
  sessions: number;
  pageViews: number;
  metrics: number;
  conversions: number;
}

/** The read side of the store of record: the reports of docs/semantics.md, "Reports". */
export interface Reports {
  topPages(q: ReportQuery): Promise<TopPageRow[]>;
  sessions(q: ReportQuery): Promise<SessionsReport>;
  conversions(q: ReportQuery): Promise<ConversionsReport>;
  funnel(q: ReportQuery, steps: string[]): Promise<FunnelStepRow[]>;
  journeys(q: ReportQuery & { maxSteps?: number }): Promise<JourneyRow[]>;
  referrers(q: ReportQuery): Promise<ReferrerRow[]>;
  campaigns(q: ReportQuery): Promise<CampaignRow[]>;
  devices(q: ReportQuery): Promise<DevicesReport>;
  bots(q: ReportQuery): Promise<BotsReport>;
  /** Per day and in total: unique visitors, page views, sessions, bounces, durations; bots apart. */
  overview(q: ReportQuery): Promise<OverviewReport>;
  /** Sessions by landing page, with their bounces; sessions desc, then path. */
  entryPages(q: ReportQuery): Promise<EntryPageRow[]>;
  /** Sessions by the path of their last page view; sessions desc, then path. */
  exitPages(q: ReportQuery): Promise<ExitPageRow[]>;
  /** Sessions (and their page views) by country; sessions desc, then country, null first. */
  countries(q: ReportQuery): Promise<CountryRow[]>;
  /** Raw daily aggregate rows (bots in `botViews` only), for recomputation checks and exports. */
  aggregates(q: ReportQuery): Promise<DailyAggregate[]>;
}

/**
 * The store of record: its write side and its reports (`StoreWriter & Reports`). Implementations:
 * `memoryStore` (core), `postgresStore`, `mongoStore`. Every implementation passes `storeContract` from
 * @anon/testing.
 */
export interface Store extends StoreWriter, Reports {}

// ---------------------------------------------------------------- queue

export type BatchHandler = (batch: EventBatch) => Promise<void>;

export interface Consumer {
  /** Stop taking batches; resolves once the batch in hand is done. */
  stop(): Promise<void>;
}

/**
 * Carries events from the request path to the store. Bounded, batched, acknowledged only after the handler
 * resolves; a failed batch is retried, never dropped. Implementations: `memoryQueue` (core),
 * `redisStreamQueue` (@anon/redis). Every implementation passes `queueContract` from @anon/testing.
 */
export interface Queue {
  /** Never blocks the caller on I/O; a full queue drops and counts, it does not throw. */
  enqueue(events: AnonEvent[]): void;
  consume(handler: BatchHandler): Consumer;
  /** Events enqueued but not yet acknowledged (as far as this instance knows). */
  depth(): number;
  /** Events dropped because the queue was full or its backend was down. */
  dropped(): number;
  /** Resolves when everything this instance enqueued has been handed to the backend (and, in memory, handled). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- small ports

export interface Clock {
  now(): Millis;
}

export interface Ids {
  /** A UUIDv7 (time-ordered). */
  next(now: Millis): string;
}

/** HMAC-SHA-256 of `message` under `key`, hex-encoded. */
export interface Hasher {
  hmac(key: string, message: string): Promise<string>;
  /**
   * The same HMAC, synchronously, where the runtime has one (Node's `crypto.createHmac`). The engine hashes a
   * whole batch of visitors in one loop with it, and falls back to `hmac` when it is absent.
   */
  hmacSync?(key: string, message: string): string;
  /**
   * Drop whatever the hasher keeps for `key` (an imported key, a cached state). The engine calls it for each
   * daily salt that leaves the current/previous pair, so no expired salt stays in memory.
   */
  forget?(key: string): void;
}

export interface Logger {
  debug?(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

export interface GeoResolver {
  /** Resolve before the IP is dropped; must not block for I/O (use a local database). */
  lookup(ip: string): { country: string | null; city: string | null } | null;
}
