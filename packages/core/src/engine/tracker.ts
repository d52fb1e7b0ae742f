import { parseBeacon } from '../beacon.js';
import { LIMITS, type TrackerConfig } from '../config.js';
import { consoleLogger, defaultHasher, systemClock, uuidv7Ids } from '../defaults.js';
import { AnonError } from '../errors.js';
import { type MemoryHotStore, memoryHotStore, memoryQueue } from '../memory/index.js';
import {
  createRouteMatcher,
  createUaParser,
  type NormalizedRequest,
  normalize,
  screen,
} from '../normalize/index.js';
import { splitTarget } from '../normalize/path.js';
import type { Consumer, HotStore, Queue, SessionRules } from '../ports.js';
import type { ActiveVisitors, AnonEvent, IdentifyKind, RequestInfo } from '../types.js';
import type {
  BeaconOptions,
  BeaconResult,
  Tracker,
  TrackerOptions,
  TrackerStats,
  TrackResult,
  TrackSkipReason,
} from './api.js';
import { createBatcher } from './batcher.js';
import { createFailureLog } from './failure-log.js';
import { createRecorder, type Item } from './record.js';
import { resolveConfig } from './resolve-config.js';
import { type Retention, startRetention } from './retention.js';
import { createSaltCache, SALT_REREAD_MS } from './salt-cache.js';
import { createSweeper } from './sweeper.js';
import { syntheticNavigation } from './synthetic-request.js';
import { createKeyCache, type VisitorKeyDeps } from './visitor-keys.js';
import { createWorkerHandler } from './worker.js';

/** Page views being recorded at once; past this the request path drops and counts instead of queueing work. */
export const MAX_IN_FLIGHT = 10_000;

/** A batch of page views starts at most this long after its first view was tracked. */
export const BATCH_DELAY_MS = 10;

/** A batch starts at once when this many views wait, and holds no more: one hot-store call each. */
export const BATCH_MAX = 512;

/** Default sweep interval. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

const VIEW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The tracker: decides synchronously on the request path, records in the background through the ports.
 * Throws `AnonError('invalid_config')` for bad options; after that, nothing it does throws into a request.
 *
 * @example
 * const tracker = createTracker({ store: memoryStore() });
 * tracker.track({ method: 'GET', url: '/', headers, ip, status: 200 });
 */
export function createTracker(options: TrackerOptions = {}): Tracker {
  const config = Object.freeze(resolveConfig(options));
  const sweepEvery = sweepInterval(options.sweeper);
  if (options.worker === true && options.store === undefined) {
    throw new AnonError('invalid_config', 'worker: true needs a store to write to');
  }

  const ownsHot = options.hot === undefined;
  const hot: HotStore = options.hot ?? memoryHotStore();
  const queue: Queue = options.queue ?? memoryQueue();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Ids();
  const hasher = options.hasher ?? defaultHasher();
  const logger = options.logger ?? consoleLogger();
  const ua = createUaParser(config.uaCacheSize);
  const rules: SessionRules = {
    sessionTimeoutMs: config.sessionTimeoutMs,
    persistEvery: config.persistEvery,
    botMaxViewsPerMinute: config.botMaxViewsPerMinute,
    realtimeWindowMs: config.realtimeWindowMs,
  };
  const failures = createFailureLog(logger, clock);
  const keyDeps: VisitorKeyDeps = {
    hasher,
    salts: createSaltCache(hot, SALT_REREAD_MS, () => {
      // The period's salt changed under us: the hot store lost its state (an empty restart, an eviction).
      counts.hotStoreResets += 1;
      failures.report(
        'hot_store_failed',
        "the hot store's salt for today changed: it lost its state (an empty restart or an eviction). Live " +
          'sessions it held are gone: their page views stay stored, each visitor continues in a new session, ' +
          'and those sessions keep their last stored summary (not finalized, last engaged time lost)',
      );
    }),
    site: config.site,
    sessionTimeoutMs: config.sessionTimeoutMs,
    visitorId: options.visitorId,
    cache: createKeyCache(),
  };
  const counts = {
    tracked: 0,
    skipped: 0,
    bots: 0,
    dropped: 0,
    written: 0,
    finalized: 0,
    conversions: 0,
    rejected: 0,
    purged: 0,
    hotStoreResets: 0,
  };
  const routeOf = createRouteMatcher(config.routes);
  const skippedBy: Partial<Record<TrackSkipReason, number>> = {};
  let closed = false;
  let closing: Promise<void> | null = null;

  function enqueue(events: AnonEvent[]): void {
    try {
      queue.enqueue(events);
    } catch (error) {
      // The contract says enqueue never throws; a custom queue that does must still not reach the request.
      counts.dropped += events.length;
      failures.report('queue_failed', 'the queue threw on enqueue; events dropped', error);
    }
  }

  const record = createRecorder({
    config,
    rules,
    hot,
    ids,
    ua,
    geo: options.geo,
    keys: keyDeps,
    failures,
    enqueue,
    counts,
  });
  const pipeline = createBatcher<Item>({
    async handle(items) {
      await record(items);
      // A capped in-process hot store over its cap is swept now, not at the next tick of the timer.
      if (hot.overCapacity?.() === true) {
        sweeper
          .sweep()
          .catch((error: unknown) => failures.report('hot_store_failed', 'sweeping failed', error));
      }
    },
    onError: (error) => failures.report('hot_store_failed', 'background tracking work failed', error),
    delayMs: BATCH_DELAY_MS,
    maxBatch: BATCH_MAX,
    maxPending: MAX_IN_FLIGHT,
  });

  const sweeper = createSweeper({
    hot,
    queue,
    clock,
    rules,
    intervalMs: sweepEvery,
    // A snapshot, so steady traffic cannot hold a sweep back; the pipeline never rejects.
    settle: () => pipeline.settled(),
    onFinalized: (n) => {
      counts.finalized += n;
    },
    onError: (error) => failures.report('hot_store_failed', 'sweeping expired sessions failed', error),
  });

  let consumer: Consumer | null = null;
  let retention: Retention | null = null;
  if (options.store !== undefined && options.worker !== false) {
    const store = options.store;
    // The store takes the rules it shares with the tracker from here, once: nobody states them twice.
    let ready: Promise<void> | null = null;
    const init = (): Promise<void> => {
      ready ??= Promise.resolve(
        store.init?.({ timeZone: config.timeZone, retentionDays: config.retentionDays }),
      ).catch((error: unknown) => {
        ready = null;
        throw error;
      });
      return ready;
    };
    init().catch((error: unknown) => failures.report('store_failed', 'store.init() failed', error));
    const handler = createWorkerHandler(store, {
      onWritten: (n) => {
        counts.written += n;
      },
      onConversions: (n) => {
        counts.conversions += n;
      },
    });
    consumer = queue.consume(async (batch) => {
      try {
        await init();
        await handler(batch);
      } catch (error) {
        failures.report('store_failed', 'writing a batch failed; the queue will retry it', error);
        throw error;
      }
    });
    if (config.retention) {
      retention = startRetention({
        store,
        clock,
        logger,
        settings: config,
        ready: init,
        onPurged: (result) => {
          counts.purged += result.sessions;
        },
        onError: (error) => failures.report('store_failed', 'automatic retention failed', error),
      });
    }
  }

  function skipped(reason: TrackSkipReason): TrackResult {
    counts.skipped += 1;
    const before = skippedBy[reason] ?? 0;
    skippedBy[reason] = before + 1;
    if (before === 0 && options.debug === true) {
      try {
        logger.warn(
          `[anon] [core] first request not tracked for reason "${reason}" (debug: logged once per reason)`,
          {
            reason,
          },
        );
      } catch {
        // A logger that throws must not reach the request.
      }
    }
    return { tracked: false, reason };
  }

  function optedOut(req: RequestInfo): boolean {
    if (options.optOut === undefined) return false;
    try {
      return options.optOut(req) === true;
    } catch (error) {
      // When the app cannot tell, the privacy-preserving answer is not to track.
      failures.report('invalid_input', 'the optOut hook threw; the request is treated as opted out', error);
      return true;
    }
  }

  /** The visitor's identity for a request that is not itself a page view (identify, engagement beacons). */
  // Identity of a POST (identify, beacon) comes from a synthetic `GET /`; exclusions must not apply to it.
  const identityConfig: TrackerConfig = { ...config, excludePaths: [] };
  function identityOf(req: RequestInfo): NormalizedRequest | null {
    if (optedOut(req)) return null;
    const result = normalize(syntheticNavigation(req, '/', undefined), identityConfig, ua);
    return result.track && result.request.privacy === 'full' ? result.request : null;
  }

  function overloaded(): void {
    counts.dropped += 1;
    failures.report('queue_full', `more than ${MAX_IN_FLIGHT} page views in flight; dropped`);
  }

  /**
   * The request path: the cheap decisions and a capture of the request, pushed to the batch pipeline. No
   * promise, no hashing, no parsing of the user agent here: that is the batch's work.
   */
  function track(req: RequestInfo): TrackResult {
    return capture(req, undefined);
  }

  function capture(req: RequestInfo, from: string | undefined): TrackResult {
    try {
      if (closed) return { tracked: false, reason: 'closed' };
      if (optedOut(req)) return skipped('opt-out');
      const screened = screen(req, config);
      if (typeof screened === 'string') return skipped(screened);
      const at = clock.now();
      const id = typeof req.viewId === 'string' && VIEW_ID.test(req.viewId) ? req.viewId : ids.next(at);
      const item: Item = { kind: 'view', req, screened, at, id };
      if (from !== undefined) item.from = from;
      if (!pipeline.push(item)) {
        overloaded();
        return { tracked: false, reason: 'overloaded' };
      }
      counts.tracked += 1;
      return { tracked: true, viewId: id };
    } catch (error) {
      failures.report('invalid_input', 'track() failed; the request was not tracked', error);
      return { tracked: false, reason: 'error' };
    }
  }

  /**
   * An SPA navigation beacon: counted like a page load of `url` (under its route pattern when `routes` has
   * one), but only once the batch has checked that `from` is the visitor's last view. Answers the new view's
   * id at once, for the page's script to report engagement with.
   */
  function navigation(
    req: RequestInfo,
    url: string,
    referrer: string | null,
    from: string,
    appRouteOf: BeaconOptions['routeOf'],
  ): BeaconResult {
    const synthetic = syntheticNavigation(req, url, referrer);
    const path = splitTarget(url).rawPath;
    const route = routeOf(path) ?? frameworkRoute(appRouteOf, path);
    if (route !== null) synthetic.route = route;
    const result = capture(synthetic, from);
    return result.tracked ? { ok: true, status: 200, viewId: result.viewId! } : { ok: true, status: 204 };
  }

  function identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<void> {
    try {
      if (closed) return Promise.resolve();
      if (typeof userId !== 'string' || userId === '') {
        failures.report('invalid_input', 'identify() needs a non-empty string user id; ignored');
        return Promise.resolve();
      }
      if (kind !== 'signup' && kind !== 'login') {
        failures.report('invalid_input', "identify() kind must be 'signup' or 'login'; ignored");
        return Promise.resolve();
      }
      const identity = identityOf(req);
      if (identity === null) return Promise.resolve();
      const at = clock.now();
      return new Promise<void>((done) => {
        const item: Item = {
          kind: 'identify',
          req,
          identity,
          userId: userId.slice(0, LIMITS.userId),
          how: kind,
          at,
          done,
        };
        if (!pipeline.push(item)) {
          counts.dropped += 1;
          done();
        }
      });
    } catch (error) {
      failures.report('invalid_input', 'identify() failed', error);
      return Promise.resolve();
    }
  }

  /** The framework router's pattern for `path`, when the binding offers one; a throw or a non-path is none. */
  function frameworkRoute(of: BeaconOptions['routeOf'], path: string): string | null {
    if (typeof of !== 'function') return null;
    try {
      const route = of(path);
      return typeof route === 'string' && route.startsWith('/') && !route.includes('*') ? route : null;
    } catch (error) {
      failures.report(
        'invalid_input',
        "the binding's route matcher threw; navigation counted by its path",
        error,
      );
      return null;
    }
  }

  function beacon(body: unknown, req: RequestInfo, options?: BeaconOptions): BeaconResult {
    try {
      if (closed) return { ok: false, status: 204, error: 'closed' };
      const parsed = parseBeacon(body);
      if (parsed instanceof AnonError) {
        return { ok: false, status: parsed.code === 'payload_too_large' ? 413 : 400, error: parsed.message };
      }
      if (parsed.type === 'navigation')
        return navigation(req, parsed.url, parsed.referrer, parsed.fromViewId, options?.routeOf);
      const identity = identityOf(req);
      if (identity !== null) {
        const item: Item = {
          kind: 'engage',
          req,
          identity,
          viewId: parsed.viewId,
          engagedMs: parsed.engagedMs,
          scrollDepth: parsed.scrollDepth,
          interactions: parsed.interactions,
          at: clock.now(),
        };
        if (!pipeline.push(item)) counts.dropped += 1;
      }
      return { ok: true, status: 204 };
    } catch (error) {
      failures.report('invalid_beacon', 'handling a beacon failed', error);
      return { ok: false, status: 400, error: '[anon] [core] the beacon could not be handled' };
    }
  }

  async function flush(): Promise<void> {
    // Identify and beacon calls may land while we wait: loop until the pipeline is empty.
    while (pipeline.pending() > 0) await pipeline.settled();
    await queue.flush();
  }

  async function shutdown(): Promise<void> {
    let firstError: unknown;
    const step = async (what: string, run: () => Promise<unknown> | undefined) => {
      try {
        await run();
      } catch (error) {
        firstError ??= error;
        failures.report('closed', `close(): ${what} failed`, error);
      }
    };
    await step('stopping the sweeper', () => sweeper.stop());
    await step('flushing', flush);
    // An in-process hot store goes with the process: its live sessions are finalized now, or never.
    if (typeof (hot as Partial<MemoryHotStore>).sessionCount === 'function') {
      await step('finalizing live sessions', async () => {
        await sweeper.finalizeAll();
        await queue.flush();
      });
    }
    await step('stopping retention', () => retention?.stop());
    await step('stopping the worker', () => consumer?.stop());
    await step('closing the queue', () => queue.close());
    if (ownsHot) await step('closing the hot store', () => hot.close?.());
    if (firstError !== undefined) {
      throw new AnonError('closed', 'the tracker closed, but not cleanly', { cause: firstError });
    }
  }

  function safeCount(read: () => number): number {
    try {
      return read();
    } catch {
      return 0;
    }
  }

  return {
    config,
    track,
    beacon,
    identify,
    async activeVisitors(scope?: string): Promise<ActiveVisitors> {
      try {
        return await hot.activeVisitors(clock.now(), config.realtimeWindowMs, scope);
      } catch (error) {
        failures.report('hot_store_failed', 'reading active visitors failed', error);
        throw new AnonError('hot_store_failed', 'reading active visitors failed', { cause: error });
      }
    },
    async sweep(): Promise<number> {
      try {
        return await sweeper.sweep();
      } catch (error) {
        failures.report('hot_store_failed', 'sweeping expired sessions failed', error);
        throw new AnonError('hot_store_failed', 'sweeping expired sessions failed', { cause: error });
      }
    },
    flush,
    close(): Promise<void> {
      closed = true;
      closing ??= shutdown();
      return closing;
    },
    stats(): TrackerStats {
      return {
        tracked: counts.tracked,
        skipped: counts.skipped,
        skippedBy: { ...skippedBy },
        rejected: counts.rejected,
        bots: counts.bots,
        dropped: counts.dropped + safeCount(() => queue.dropped()),
        failures: failures.count(),
        queueDepth: safeCount(() => queue.depth()),
        written: counts.written,
        finalized: counts.finalized,
        conversions: counts.conversions,
        purged: counts.purged,
        hotStoreResets: counts.hotStoreResets,
      };
    },
    newViewId(): string {
      return ids.next(clock.now());
    },
  };
}

function sweepInterval(option: TrackerOptions['sweeper']): number | false {
  if (option === false) return false;
  if (option === undefined) return DEFAULT_SWEEP_INTERVAL_MS;
  const ms = option.intervalMs;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new AnonError('invalid_config', `sweeper.intervalMs must be a positive number, got ${String(ms)}`);
  }
  return ms;
}
