import type { TrackerConfig } from '../config.js';
import type { Clock, Consumer, Logger, Queue, StoreWriter } from '../ports.js';
import type { FailureLog } from './failure-log.js';
import { type Retention, startRetention } from './retention.js';
import { createWorkerHandler } from './worker.js';

/** What the background wiring needs from the tracker that assembles it. */
export interface BackgroundDeps {
  store: StoreWriter;
  queue: Queue;
  clock: Clock;
  logger: Logger;
  config: Readonly<TrackerConfig>;
  failures: FailureLog;
  counts: { written: number; conversions: number; purged: number };
}

/** A worker's background work on the store, stopped piece by piece at `close()`. */
export interface Background {
  /** Stop automatic retention; resolves once a purge in progress is done. */
  stopRetention(): Promise<void>;
  /** Stop consuming the queue; resolves once the batch in hand is done. */
  stopWorker(): Promise<void>;
}

/**
 * A worker's wiring to the store: hands the store the tracker's settings (`init`, once, retried after a
 * failure before the next batch), drains the queue into it, and runs automatic retention when configured.
 */
export function startBackground(deps: BackgroundDeps): Background {
  const { store, queue, clock, logger, config, failures, counts } = deps;
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
  const consumer: Consumer = queue.consume(async (batch) => {
    try {
      await init();
      await handler(batch);
    } catch (error) {
      failures.report('store_failed', 'writing a batch failed; the queue will retry it', error);
      throw error;
    }
  });

  let retention: Retention | null = null;
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

  return {
    stopRetention: async () => {
      await retention?.stop();
    },
    stopWorker: () => consumer.stop(),
  };
}
