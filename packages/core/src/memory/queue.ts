import { systemClock, uuidv7Ids } from '../defaults.js';
import { AnonError } from '../errors.js';
import type { BatchHandler, Clock, Consumer, Ids, Queue } from '../ports.js';
import type { AnonEvent, EventBatch } from '../types.js';

export interface MemoryQueueOptions {
  /**
   * Events waiting for a consumer, at most; past it the oldest are dropped and counted in `dropped()`. Batches
   * already handed to a consumer (one per consumer) are never dropped and come on top of this.
   * @default 100_000
   */
  maxEvents?: number;
  /** Events per batch, at most. @default 500 */
  batchSize?: number;
  /** A batch smaller than `batchSize` leaves after waiting this long. @default 20 */
  flushIntervalMs?: number;
  /** First wait before a failed batch is retried; doubled at each failure. @default 50 */
  retryInitialMs?: number;
  /** Longest wait between retries of a failed batch. @default 5_000 */
  retryMaxMs?: number;
  /** Time for batch ids. @default systemClock */
  clock?: Clock;
  /** Batch ids (UUIDv7). @default uuidv7Ids() */
  ids?: Ids;
}

interface Batch extends EventBatch {
  /** Sequence number of its first event: `flush` waits until every number below its target is settled. */
  start: number;
}

interface ConsumerState {
  stopping: boolean;
  /** Ends the consumer's wait for work, if it is idle. */
  wake: (() => void) | null;
  /** Ends the consumer's wait before a retry, if it is backing off (only `stop` does: new work must not). */
  cancelSleep: (() => void) | null;
  done: Promise<void>;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * The in-process `Queue`: bounded, batching, at least once. Events wait in memory until a consumer takes them
 * in batches (by size, or after `flushIntervalMs`); a batch whose handler rejects is retried with exponential
 * backoff, under the same id, and never dropped. Timers are unref'd: they never keep a process alive.
 *
 * @example
 * const queue = memoryQueue({ batchSize: 1_000 });
 * queue.consume((batch) => store.write(batch).then(() => undefined));
 */
export function memoryQueue(options: MemoryQueueOptions = {}): Queue {
  const maxEvents = positiveInteger(options.maxEvents ?? 100_000, 'maxEvents');
  const batchSize = positiveInteger(options.batchSize ?? 500, 'batchSize');
  const flushIntervalMs = nonNegative(options.flushIntervalMs ?? 20, 'flushIntervalMs');
  const retryInitialMs = nonNegative(options.retryInitialMs ?? 50, 'retryInitialMs');
  const retryMaxMs = Math.max(retryInitialMs, nonNegative(options.retryMaxMs ?? 5_000, 'retryMaxMs'));
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Ids();

  // Waiting events live in `buffer[head..]`; taking and dropping advance `head` (no O(n) shift).
  let buffer: (AnonEvent | undefined)[] = [];
  let head = 0;
  /** Sequence number the next enqueued event gets. */
  let nextSeq = 0;
  let outstanding = 0;
  let droppedCount = 0;
  let closed = false;
  /** The oldest waiting events have waited `flushIntervalMs`: a partial batch may leave. */
  let due = false;
  let timer: Timer | null = null;
  let flushing = 0;

  const returned: Batch[] = [];
  const inHand = new Set<Batch>();
  const consumers = new Set<ConsumerState>();
  const flushWaiters: { target: number; resolve: () => void }[] = [];

  const waiting = () => buffer.length - head;

  const lowWater = (): number => {
    let low = waiting() > 0 ? nextSeq - waiting() : nextSeq;
    for (const batch of inHand) low = Math.min(low, batch.start);
    for (const batch of returned) low = Math.min(low, batch.start);
    return low;
  };

  const settleFlushes = (): void => {
    if (flushWaiters.length === 0) return;
    const low = consumers.size === 0 ? Number.POSITIVE_INFINITY : lowWater();
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i]!;
      if (waiter.target <= low) {
        flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  const wakeAll = (): void => {
    for (const c of consumers) {
      const wake = c.wake;
      c.wake = null;
      wake?.();
    }
  };

  const armTimer = (): void => {
    if (timer !== null || due || closed) return;
    timer = setTimeout(() => {
      timer = null;
      due = true;
      wakeAll();
    }, flushIntervalMs);
    unref(timer);
  };

  const take = (): Batch | null => {
    const again = returned.shift();
    if (again !== undefined) return again;
    const n = waiting();
    if (n === 0 || (n < batchSize && !due && flushing === 0)) return null;
    const size = Math.min(n, batchSize);
    const events = buffer.slice(head, head + size) as AnonEvent[];
    const start = nextSeq - n;
    buffer.fill(undefined, head, head + size);
    head += size;
    compact();
    // What is left arrived later than what left: it gets its own full wait.
    due = false;
    if (waiting() > 0) armTimer();
    return { id: ids.next(clock.now()), events, start };
  };

  const compact = (): void => {
    if (head === buffer.length) {
      buffer = [];
      head = 0;
    } else if (head > 1024 && head * 2 > buffer.length) {
      buffer = buffer.slice(head);
      head = 0;
    }
  };

  const run = async (c: ConsumerState, handler: BatchHandler): Promise<void> => {
    while (!c.stopping) {
      const batch = take();
      if (batch === null) {
        await new Promise<void>((resolve) => {
          c.wake = resolve;
        });
        continue;
      }
      inHand.add(batch);
      let acked = false;
      for (let attempt = 1; ; attempt++) {
        try {
          await handler({ id: batch.id, events: batch.events });
          acked = true;
          break;
        } catch {
          // At least once: the same batch, under the same id, until the handler accepts it.
          if (c.stopping) break;
          await sleep(c, Math.min(retryMaxMs, retryInitialMs * 2 ** (attempt - 1)));
          if (c.stopping) break;
        }
      }
      inHand.delete(batch);
      if (acked) {
        outstanding -= batch.events.length;
      } else {
        // A stopping consumer hands its unfinished batch back, first in line for the next consumer.
        returned.unshift(batch);
        wakeAll();
      }
      settleFlushes();
    }
  };

  const sleep = (c: ConsumerState, ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.cancelSleep = null;
        resolve();
      }, ms);
      unref(t);
      c.cancelSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const stopConsumer = (c: ConsumerState): Promise<void> => {
    if (!c.stopping) {
      c.stopping = true;
      const wake = c.wake ?? c.cancelSleep;
      c.wake = null;
      c.cancelSleep = null;
      wake?.();
    }
    return c.done;
  };

  return {
    enqueue(events) {
      if (!Array.isArray(events) || events.length === 0) return;
      if (closed) {
        droppedCount += events.length;
        return;
      }
      for (const event of events) buffer.push(event);
      nextSeq += events.length;
      outstanding += events.length;
      const excess = waiting() - maxEvents;
      if (excess > 0) {
        // Drop the oldest: the newest events describe the present, which matters most after an outage.
        buffer.fill(undefined, head, head + excess);
        head += excess;
        compact();
        droppedCount += excess;
        outstanding -= excess;
        settleFlushes();
      }
      if (waiting() >= batchSize) wakeAll();
      else armTimer();
    },

    consume(handler) {
      if (closed) throw new AnonError('closed', 'the queue is closed', { source: 'memory' });
      if (typeof handler !== 'function') {
        throw new AnonError('invalid_input', 'consume needs a handler function', { source: 'memory' });
      }
      const c: ConsumerState = { stopping: false, wake: null, cancelSleep: null, done: Promise.resolve() };
      consumers.add(c);
      c.done = run(c, handler).finally(() => {
        consumers.delete(c);
        settleFlushes();
      });
      const consumer: Consumer = { stop: () => stopConsumer(c) };
      return consumer;
    },

    depth() {
      return outstanding;
    },

    dropped() {
      return droppedCount;
    },

    flush() {
      if (consumers.size === 0) return Promise.resolve();
      const target = nextSeq;
      if (lowWater() >= target) return Promise.resolve();
      flushing++;
      const done = new Promise<void>((resolve) => {
        flushWaiters.push({
          target,
          resolve: () => {
            flushing--;
            resolve();
          },
        });
      });
      wakeAll();
      return done;
    },

    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await Promise.all([...consumers].map(stopConsumer));
      settleFlushes();
    },
  };
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void } | null)?.unref?.();
}

function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new AnonError('invalid_config', `${name} must be an integer ≥ 1`, { source: 'memory' });
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new AnonError('invalid_config', `${name} must be a finite number ≥ 0`, { source: 'memory' });
  }
  return value;
}
