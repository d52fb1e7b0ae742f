import type { TrackerConfig } from '../config.js';
import type { SkipReason } from '../normalize/index.js';
import type { Clock, GeoResolver, Hasher, HotStore, Ids, Logger, Queue, StoreWriter } from '../ports.js';
import type { ActiveVisitors, IdentifyKind, RequestInfo } from '../types.js';

export interface TrackerOptions extends Partial<TrackerConfig> {
  /** Hot session state. @default memoryHotStore() */
  hot?: HotStore;
  /** Store of record (its write side is all the tracker uses). Required when this process runs the worker. */
  store?: StoreWriter;
  /** Where events wait for the worker (a Redis stream for several instances). @default memoryQueue() */
  queue?: Queue;
  /** Run a worker in this process that drains the queue into the store. @default true when `store` is given */
  worker?: boolean;
  /** Run the sweeper in this process every `intervalMs`; false to run none. @default { intervalMs: 30_000 } */
  sweeper?: { intervalMs: number } | false;
  /** A first-party anonymous id (e.g. from a cookie the app sets) used instead of the hashed visitor key. */
  visitorId?: (req: RequestInfo) => string | null | undefined;
  /** Per-request opt-out: return true to not track this request at all (a hook that throws counts as true). */
  optOut?: (req: RequestInfo) => boolean;
  /** Time source for every timestamp and day. @default systemClock */
  clock?: Clock;
  /** Page view and session ids. @default uuidv7Ids() */
  ids?: Ids;
  /** HMAC for visitor keys: Web Crypto, plus Node's synchronous HMAC where the runtime has it. @default defaultHasher() */
  hasher?: Hasher;
  /** Where failures are reported (rate-limited per message). @default consoleLogger() */
  logger?: Logger;
  /**
   * Log (as a warning) the first request not tracked for each reason, e.g. `not-html` for a `curl` that
   * accepts any type: to see why a request you expected is missing. @default false
   */
  debug?: boolean;
  /** Country and city from the IP, before the IP is dropped. @default none (country and city stay null) */
  geo?: GeoResolver;
}

/**
 * Why a request was not tracked: a `normalize` verdict (`method`, `status`, `not-html`, `excluded`, `dnt`,
 * `prefetch`, `invalid`), the `optOut` hook, a closed tracker, an internal error, or too many page views
 * still being recorded (`overloaded`: the view is dropped and counted in `stats().dropped`).
 */
export type TrackSkipReason = SkipReason | 'opt-out' | 'closed' | 'error' | 'overloaded';

/** What `track()` decided, synchronously. */
export interface TrackResult {
  tracked: boolean;
  /** Set when `tracked` is false. */
  reason?: TrackSkipReason;
  /** The page view's id (the request's `viewId` when it carried a valid one), when tracked. */
  viewId?: string;
}

/**
 * What to answer a beacon. An accepted SPA navigation answers 200 with the new view's id (`viewId`, sent as
 * JSON `{"v": viewId}`) so the page's script can report engagement for it; everything else answers without a
 * body.
 */
export interface BeaconResult {
  ok: boolean;
  status: 200 | 204 | 400 | 413;
  /** The id of the page view an SPA navigation beacon started, when `status` is 200. */
  viewId?: string;
  error?: string;
}

/** Counters since the tracker was created (this instance only). */
export interface TrackerStats {
  /** Requests accepted as page views by `track()`. */
  tracked: number;
  /** Requests `track()` decided not to count (normalize verdict or opt-out). */
  skipped: number;
  /** `skipped`, by reason (`not-html`, `excluded`, `dnt`, `opt-out`, …); a reason never seen is absent. */
  skippedBy: Partial<Record<TrackSkipReason, number>>;
  /**
   * SPA navigation beacons not counted: the view they navigated from was not their visitor's last view (a
   * forged or stale beacon), or the visitor sent DNT / Sec-GPC (aggregate-only visitors cannot be checked).
   */
  rejected: number;
  /** Page views recorded as bots (user agent, headless, or rate). */
  bots: number;
  /** Page views dropped because too many were waiting for their batch, plus events the queue dropped. */
  dropped: number;
  /** Failures caught and logged (hot store, store, hooks, bad input); none ever reached a request. */
  failures: number;
  /** Events enqueued and not yet acknowledged, as the queue reports it. */
  queueDepth: number;
  /** Events that changed the store, as written by this instance's worker. */
  written: number;
  /** Sessions this instance finalized (sweeper or a new session ending the previous one). */
  finalized: number;
  /** Conversions this instance's worker wrote (a repeated signup is not counted again). */
  conversions: number;
  /**
   * Times this instance found the hot store had lost its state: the period's salt changed between two reads
   * (a Redis restarted empty, or an evicted salt). Each is logged; the live sessions it held were lost.
   */
  hotStoreResets: number;
  /** Sessions this instance's automatic retention purged (`retention`; one instance purges per day). */
  purged: number;
}

/** What a binding adds to a beacon it hands over. */
export interface BeaconOptions {
  /** The app router's pattern for a path (`/posts/:id` for `/posts/42`), or null when no route matches. */
  routeOf?(path: string): string | null | undefined;
}

export interface Tracker {
  readonly config: Readonly<TrackerConfig>;
  /** Decide synchronously, then record in the background. Never throws, never awaits I/O. */
  track(req: RequestInfo): TrackResult;
  /**
   * Handle a beacon body (already parsed JSON or a string); never throws. A binding whose framework can match a
   * path against the app's router passes `routeOf`: an SPA navigation's path the tracker's `routes` option does
   * not match is then counted under the pattern `routeOf` answers (a throw or a non-path answer counts as none).
   */
  beacon(body: unknown, req: RequestInfo, options?: BeaconOptions): BeaconResult;
  /**
   * Link this request's visitor to a user. `signup` converts (the worker writes the conversion), `login` only
   * links the live session. Never rejects.
   */
  identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<void>;
  /** Active visitors in the real-time window, overall or in one scope (`page:/path`, or an app scope). */
  activeVisitors(scope?: string): Promise<ActiveVisitors>;
  /** Finalize idle sessions now; returns how many. */
  sweep(): Promise<number>;
  /** Wait until everything tracked so far is recorded and (with an in-process worker) written. */
  flush(): Promise<void>;
  /** Flush, stop the sweeper and worker, and refuse new events. */
  close(): Promise<void>;
  stats(): TrackerStats;
  /** Allocate a view id at request start (bindings expose it for the beacon). */
  newViewId(): string;
}
