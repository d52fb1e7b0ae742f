import type { TrackerConfig } from '../config.js';
import type { Clock, GeoResolver, Hasher, HotStore, Ids, Logger, Queue, Store } from '../ports.js';
import type { Conversion, IdentifyKind, RequestInfo } from '../types.js';

export interface TrackerOptions extends Partial<TrackerConfig> {
  /** Hot session state. @default memoryHotStore() */
  hot?: HotStore;
  /** Store of record. Required when this process runs the worker. */
  store?: Store;
  /** @default memoryQueue() */
  queue?: Queue;
  /** Run a worker in this process that drains the queue into the store. @default true when `store` is given */
  worker?: boolean;
  /** Run the sweeper in this process every `intervalMs`; false to run none. @default { intervalMs: 30_000 } */
  sweeper?: { intervalMs: number } | false;
  /** A first-party anonymous id (e.g. from a cookie the app sets) used instead of the hashed visitor key. */
  visitorId?: (req: RequestInfo) => string | null | undefined;
  /** Per-request opt-out: return true to not track this request at all. */
  optOut?: (req: RequestInfo) => boolean;
  clock?: Clock;
  ids?: Ids;
  hasher?: Hasher;
  logger?: Logger;
  geo?: GeoResolver;
}

/** What `track()` decided, synchronously. */
export interface TrackResult {
  tracked: boolean;
  /** Why a request was not tracked (`method`, `status`, `not-html`, `excluded`, `opt-out`, `dnt`, `closed`, `error`). */
  reason?: string;
  viewId?: string;
}

/** A beacon sent by the browser script. */
export interface BeaconResult {
  ok: boolean;
  status: 204 | 400 | 413;
  error?: string;
}

export interface TrackerStats {
  tracked: number;
  skipped: number;
  bots: number;
  dropped: number;
  failures: number;
  queueDepth: number;
  written: number;
  finalized: number;
  conversions: number;
}

export interface Tracker {
  readonly config: Readonly<TrackerConfig>;
  /** Decide synchronously, then record in the background. Never throws, never awaits I/O. */
  track(req: RequestInfo): TrackResult;
  /** Handle a beacon body (already parsed JSON or a string); never throws. */
  beacon(body: unknown, req: RequestInfo): BeaconResult;
  /** Link this request's visitor to a user. `signup` converts, `login` only links. Never rejects. */
  identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<Conversion | null>;
  /** Active visitors in the real-time window, overall or in one scope (`page:/path`, or an app scope). */
  activeVisitors(scope?: string): Promise<number>;
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
