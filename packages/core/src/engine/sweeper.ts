import type { Clock, HotStore, Queue, SessionRules } from '../ports.js';
import { finalizationEvents } from './events.js';

/** Sessions claimed per round trip. */
export const SWEEP_BATCH = 500;
/** How long a claim holds before another sweeper may take the session (if this one died mid-way). */
export const SWEEP_LEASE_MS = 60_000;

export interface Sweeper {
  /** Finalize every session idle past the timeout; resolves with how many. One sweep runs at a time. */
  sweep(): Promise<number>;
  /**
   * Finalize every live session now, idle or not: for a hot store that lives in this process and is about to
   * go with it (`close()`), where no other sweeper could ever finalize them.
   */
  finalizeAll(): Promise<number>;
  /** Stop the timer and wait for a sweep in progress. */
  stop(): Promise<void>;
}

export interface SweeperDeps {
  hot: HotStore;
  queue: Queue;
  clock: Clock;
  rules: SessionRules;
  /** Run `sweep()` this often; false for no timer (`sweep()` still works). */
  intervalMs: number | false;
  /**
   * Awaited before claiming: the page views already accepted must reach the hot store first, or a session
   * they continue could be finalized a view short (and the view would start a session of its own).
   */
  settle(): Promise<unknown>;
  onFinalized(count: number): void;
  onError(error: unknown): void;
}

/**
 * Claims expired sessions in batches, enqueues their finalization and only then completes them, so a crash
 * between the two leaves the claim to lapse and another sweeper to finalize (at least once; the store's
 * idempotent writes make it exactly once).
 */
export function createSweeper(deps: SweeperDeps): Sweeper {
  let running: Promise<number> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;

  const run = async (ahead = 0): Promise<number> => {
    let total = 0;
    await deps.settle();
    for (;;) {
      const now = deps.clock.now() + ahead;
      const claimed = await deps.hot.claimExpired(now, deps.rules, SWEEP_BATCH, SWEEP_LEASE_MS);
      if (claimed.length > 0) {
        deps.queue.enqueue(claimed.flatMap(finalizationEvents));
        await deps.hot.complete(claimed.map((s) => s.id));
        total += claimed.length;
        deps.onFinalized(claimed.length);
      }
      if (claimed.length < SWEEP_BATCH) return total;
    }
  };

  const sweep = (): Promise<number> => {
    if (running === null) {
      running = run().finally(() => {
        running = null;
      });
    }
    return running;
  };

  if (deps.intervalMs !== false) {
    timer = setInterval(() => {
      sweep().catch(deps.onError);
    }, deps.intervalMs);
    // The sweeper must never keep a process alive on its own.
    (timer as { unref?: () => void }).unref?.();
  }

  return {
    sweep,
    async finalizeAll() {
      if (running !== null) await running.catch(() => undefined);
      // Claiming as if the timeout had passed since every session's last view: each is ended at that view.
      return run(deps.rules.sessionTimeoutMs + 1);
    },
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (running !== null) await running.catch(() => undefined);
    },
  };
}
