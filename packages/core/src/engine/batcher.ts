/** An ordered, bounded buffer drained one batch at a time by an asynchronous handler. */
export interface Batcher<T> {
  /** Adds an item; false (and nothing added) when `maxPending` items are already waiting or in hand. */
  push(item: T): boolean;
  /** Resolves once every item pushed so far has been handled; starts a batch now instead of at the timer. */
  settled(): Promise<void>;
  /** Items pushed and not yet handled. */
  pending(): number;
}

export interface BatcherOptions<T> {
  /** Handles one batch, in push order; a rejection is reported and the batch counts as handled. */
  handle(items: T[]): Promise<void>;
  onError(error: unknown): void;
  /** A batch starts at most this long after its first item. */
  delayMs: number;
  /** A batch starts at once when this many items wait, and never holds more. */
  maxBatch: number;
  /** Items waiting or in hand past which `push` refuses. */
  maxPending: number;
}

/**
 * The engine's batch pipeline: `track()` pushes and returns; batches are handled strictly one after another,
 * so whatever the handler does, items reach the ports in the order they were pushed. While a batch is in hand
 * the next one gathers, so a slow port makes batches larger rather than the queue of work longer.
 */
export function createBatcher<T>(options: BatcherOptions<T>): Batcher<T> {
  let buffer: T[] = [];
  let pushed = 0;
  let handled = 0;
  let running = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let waiters: { upTo: number; resolve: () => void }[] = [];

  const wake = (): void => {
    if (waiters.length === 0) return;
    const still: typeof waiters = [];
    for (const waiter of waiters) {
      if (waiter.upTo <= handled) waiter.resolve();
      else still.push(waiter);
    }
    waiters = still;
  };

  const loop = async (): Promise<void> => {
    try {
      while (buffer.length > 0) {
        let batch = buffer;
        if (batch.length > options.maxBatch) {
          batch = buffer.slice(0, options.maxBatch);
          buffer = buffer.slice(options.maxBatch);
        } else {
          buffer = [];
        }
        try {
          await options.handle(batch);
        } catch (error) {
          options.onError(error);
        }
        handled += batch.length;
        wake();
      }
    } finally {
      running = false;
    }
  };

  const start = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (running || buffer.length === 0) return;
    running = true;
    void loop();
  };

  const schedule = (): void => {
    if (running) return;
    if (buffer.length >= options.maxBatch) {
      queueMicrotask(start);
    } else if (timer === null) {
      timer = setTimeout(start, options.delayMs);
      // A pending batch must not keep a process alive on its own: `close()` drains it.
      (timer as { unref?: () => void }).unref?.();
    }
  };

  return {
    push(item) {
      if (pushed - handled >= options.maxPending) return false;
      buffer.push(item);
      pushed += 1;
      schedule();
      return true;
    },
    settled() {
      if (handled === pushed) return Promise.resolve();
      const promise = new Promise<void>((resolve) => {
        waiters.push({ upTo: pushed, resolve });
      });
      start();
      return promise;
    },
    pending: () => pushed - handled,
  };
}
