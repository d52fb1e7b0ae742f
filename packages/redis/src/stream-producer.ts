import type { AnonEvent } from '@anon/core';
import type { LogThrottle } from '@anon/core/adapter';
import type { RedisClient } from './client.js';

/** Settings of the sending side, checked by `redisStreamQueue`. */
export interface ProducerSettings {
  stream: string;
  maxLength: number;
  bufferSize: number;
  sendBatchSize: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Where failures are logged (the queue's throttle: one line per message per window). */
  log: LogThrottle;
  /** Told the stream's length after each send (read in the same pipeline, so at no extra round trip). */
  onLength(length: number, sentAt: number): void;
  /** Counts events dropped (buffer overflow, close). */
  onDropped(count: number): void;
}

/** The sending side of the stream queue: a bounded buffer drained by pipelines of `XADD`s. */
export interface StreamProducer {
  enqueue(events: AnonEvent[]): void;
  /** Events held in this process: buffered, or sent and not yet confirmed by Redis. */
  held(): number;
  flush(): Promise<void>;
  /** Stops taking events, keeps sending for up to `timeoutMs`, then drops (and counts) what is left. */
  close(timeoutMs: number): Promise<void>;
}

interface Pending {
  seq: number;
  event: AnonEvent;
}

/** The stream entry field that holds an event's JSON. */
export const FIELD = 'e';

/** A monotonic stamp for replies from several connections: a length read later than another wins. */
let stamps = 0;
export const nextStamp = (): number => ++stamps;

/**
 * `enqueue` never blocks or throws: events wait in a bounded buffer and are sent in pipelines; while Redis is
 * down they stay there (the oldest dropped past `bufferSize`) and go out, in order, when it returns.
 */
export function streamProducer(redis: RedisClient, settings: ProducerSettings): StreamProducer {
  const { stream, maxLength, bufferSize, sendBatchSize, retryInitialMs, retryMaxMs, log } = settings;
  let buffer: Pending[] = [];
  let inFlight: Pending[] = [];
  let nextSeq = 0;
  let closed = false;
  let sendFailures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let waitingForReady = false;
  const flushWaiters: { target: number; resolve: () => void }[] = [];

  /** Every event numbered below this has been sent or dropped. */
  const lowWater = (): number => inFlight[0]?.seq ?? buffer[0]?.seq ?? nextSeq;

  const settleFlushes = (): void => {
    const low = lowWater();
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i] as { target: number; resolve: () => void };
      if (waiter.target <= low) {
        flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  const trimBuffer = (): void => {
    const excess = buffer.length + inFlight.length - bufferSize;
    if (excess > 0) {
      // Drop the oldest waiting events: the newest describe the present, which matters most after an outage.
      const cut = Math.min(excess, buffer.length);
      buffer = buffer.slice(cut);
      settings.onDropped(cut);
    }
  };

  const closedAndEmpty = (): boolean => closed && buffer.length === 0 && inFlight.length === 0;

  const scheduleRetry = (): void => {
    if (retryTimer !== null || closedAndEmpty()) return;
    const delay = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(sendFailures, 20));
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void pump();
    }, delay);
    retryTimer.unref?.();
  };

  const onReady = (): void => {
    waitingForReady = false;
    void pump();
  };

  const pump = async (): Promise<void> => {
    if (inFlight.length > 0 || buffer.length === 0) return;
    if (redis.status !== 'ready') {
      // Down or connecting: do not feed ioredis' offline queue; wait for 'ready' (or the retry timer).
      if (!waitingForReady) {
        waitingForReady = true;
        redis.once('ready', onReady);
      }
      scheduleRetry();
      return;
    }
    inFlight = buffer.slice(0, sendBatchSize);
    buffer = buffer.slice(inFlight.length);
    const sending = inFlight;
    let failed: Pending[] = [];
    try {
      const pipeline = redis.pipeline();
      for (const item of sending) {
        pipeline.xadd(stream, 'MAXLEN', '~', maxLength, '*', FIELD, JSON.stringify(item.event));
      }
      pipeline.xlen(stream);
      const stamp = nextStamp();
      const results = (await pipeline.exec()) ?? [];
      failed = sending.filter((_, i) => results[i] === undefined || results[i]?.[0] != null);
      if (failed.length > 0) {
        const error = results.find((r) => r?.[0] != null)?.[0];
        throw error ?? new Error('no reply');
      }
      const length = results[sending.length];
      if (length !== undefined && length[0] == null) settings.onLength(Number(length[1]), stamp);
      sendFailures = 0;
    } catch (error) {
      if (failed.length === 0) failed = sending;
      sendFailures++;
      log.warn('[anon] [redis] could not add events to the stream; they stay buffered', {
        error: error instanceof Error ? error.message : String(error),
        events: failed.length,
        buffered: buffer.length + failed.length,
      });
      // Back at the front, in order: what was not sent goes first once Redis answers again.
      buffer = [...failed, ...buffer];
    } finally {
      inFlight = [];
    }
    trimBuffer();
    settleFlushes();
    if (buffer.length > 0) {
      if (sendFailures > 0) scheduleRetry();
      else void pump();
    }
  };

  return {
    enqueue(events) {
      if (!Array.isArray(events) || events.length === 0) return;
      if (closed) {
        settings.onDropped(events.length);
        return;
      }
      for (const event of events) buffer.push({ seq: nextSeq++, event });
      trimBuffer();
      settleFlushes();
      if (inFlight.length === 0 && retryTimer === null) queueMicrotask(() => void pump());
    },

    held() {
      return buffer.length + inFlight.length;
    },

    flush() {
      const target = nextSeq;
      if (lowWater() >= target) return Promise.resolve();
      const done = new Promise<void>((resolve) => flushWaiters.push({ target, resolve }));
      void pump();
      return done;
    },

    async close(timeoutMs) {
      if (closed) return;
      closed = true;
      if (buffer.length > 0 || inFlight.length > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const target = nextSeq;
        await Promise.race([
          new Promise<void>((resolve) => {
            flushWaiters.push({ target, resolve });
            void pump();
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
      if (waitingForReady) redis.off('ready', onReady);
      waitingForReady = false;
      // Whatever Redis did not take in time is lost: count it.
      settings.onDropped(buffer.length);
      buffer = [];
      settleFlushes();
    },
  };
}
