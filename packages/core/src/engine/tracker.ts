import { consoleLogger, defaultHasher, systemClock, uuidv7Ids } from '../defaults.js';
import { AnonError } from '../errors.js';
import { type MemoryHotStore, memoryHotStore, memoryQueue } from '../memory/index.js';
import { createUaParser } from '../normalize/index.js';
import type { HotStore, Queue, SessionRules } from '../ports.js';
import type { ActiveVisitors, AnonEvent } from '../types.js';
import type { Tracker, TrackerOptions, TrackerStats } from './api.js';
import { startBackground } from './background.js';
import { createBatcher } from './batcher.js';
import { createFailureLog } from './failure-log.js';
import { createRecorder, type Item } from './record.js';
import { createRequestPath } from './request-path.js';
import { resolveConfig } from './resolve-config.js';
import { createSaltCache, SALT_REREAD_MS } from './salt-cache.js';
import { createSweeper } from './sweeper.js';
import { createKeyCache, type VisitorKeyDeps } from './visitor-keys.js';

/** Page views being recorded at once; past this the request path drops and counts instead of queueing work. */
export const MAX_IN_FLIGHT = 10_000;

/** A batch of page views starts at most this long after its first view was tracked. */
export const BATCH_DELAY_MS = 10;

/** A batch starts at once when this many views wait, and holds no more: one hot-store call each. */
export const BATCH_MAX = 512;

/** Default sweep interval. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

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

  const background =
    options.store !== undefined && options.worker !== false
      ? startBackground({ store: options.store, queue, clock, logger, config, failures, counts })
      : null;

  const requests = createRequestPath({
    config,
    clock,
    ids,
    ua,
    logger,
    failures,
    optOut: options.optOut,
    debug: options.debug === true,
    push: (item) => pipeline.push(item),
    maxInFlight: MAX_IN_FLIGHT,
    closed: () => closed,
    counts,
  });

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
    await step('stopping retention', () => background?.stopRetention());
    await step('stopping the worker', () => background?.stopWorker());
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
    track: requests.track,
    beacon: requests.beacon,
    identify: requests.identify,
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
        skippedBy: requests.skippedBy(),
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
