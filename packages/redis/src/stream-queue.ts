import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { consoleLogger, type Logger, type Queue } from '@anon/core';
import { createLogThrottle } from '@anon/core/adapter';
import type { RedisClient } from './client.js';
import { redisError } from './errors.js';
import { streamConsumers } from './stream-consumer.js';
import { streamProducer } from './stream-producer.js';

/** Shortest time between two lines of the same failure (the queue retries far more often while Redis is down). */
const LOG_EVERY_MS = 10_000;

export interface RedisStreamQueueOptions {
  /** The stream's key. It has no TTL (it holds undelivered events); `maxLength` bounds it. @default 'anon:events' */
  stream?: string;
  /** Consumer group every worker joins. @default 'anon-workers' */
  group?: string;
  /** This instance's consumer name, unique per process. @default '<hostname>-<pid>-<random>' */
  consumer?: string;
  /**
   * Approximate cap on the stream's length (`XADD MAXLEN ~`). Entries trimmed before a worker read them are
   * lost: size it for the longest worker outage you accept. @default 1_000_000
   */
  maxLength?: number;
  /**
   * Events held in this process while Redis is down or slow; past it the oldest are dropped and counted in
   * `dropped()`. @default 10_000
   */
  bufferSize?: number;
  /** Events sent per pipeline of `XADD`s. @default 500 */
  sendBatchSize?: number;
  /** Stream entries (one event each) per batch handed to the handler. @default 200 */
  batchSize?: number;
  /** How long `XREADGROUP` waits for new entries, on the consumer's own connection. @default 1_000 */
  blockMs?: number;
  /** Entries pending this long with a consumer (presumed dead) are reclaimed with `XAUTOCLAIM`. @default 60_000 */
  claimIdleMs?: number;
  /** First wait before a failed send, read or batch is retried; doubled at each failure. @default 100 */
  retryInitialMs?: number;
  /** Longest wait between retries. @default 5_000 */
  retryMaxMs?: number;
  /** How long `close()` keeps trying to send what is buffered before dropping it. @default 5_000 */
  closeTimeoutMs?: number;
  /**
   * Where failures are reported: at most one line per 10 s for each kind of failure, with the count of the
   * lines held back meanwhile (`suppressed`). A failing handler is not logged here: the handler reports its
   * own failures (the tracker's worker does), and the queue retries the batch.
   * @default consoleLogger() from @anon/core
   */
  logger?: Logger;
}

/**
 * A `Queue` on Redis Streams with a consumer group: app instances `XADD` (capped), workers `XREADGROUP` in
 * batches on their own connection, `XACK` and `XDEL` only after the handler resolved (nothing handled stays in
 * Redis), and `XAUTOCLAIM` entries a dead worker left pending. At least once; the store's idempotent writes
 * make it exactly once. One consumer group per stream: entries are deleted once that group acknowledged them.
 *
 * `enqueue` never blocks or throws: events wait in a bounded buffer and are sent in pipelines; while Redis
 * is down they stay there (the oldest dropped past `bufferSize`) and go out when it returns.
 *
 * `depth()` is what this process holds (buffered, or sent and not yet confirmed) plus the stream's length as
 * last read — every event any instance enqueued that no worker has acknowledged yet. The length is read in
 * the same pipeline as each send and each acknowledgement, and by an idle worker after each empty read, so
 * `depth()` costs no round trip; in a process that only enqueues it is as fresh as its last send.
 *
 * @example
 * const queue = redisStreamQueue(redis);
 * const tracker = createTracker({ hot: redisHotStore(redis), queue, store });
 */
export function redisStreamQueue(redis: RedisClient, options: RedisStreamQueueOptions = {}): Queue {
  const stream = nonEmpty(options.stream ?? 'anon:events', 'stream');
  const group = nonEmpty(options.group ?? 'anon-workers', 'group');
  const consumerName = nonEmpty(
    options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
    'consumer',
  );
  const maxLength = positiveInteger(options.maxLength ?? 1_000_000, 'maxLength');
  const bufferSize = positiveInteger(options.bufferSize ?? 10_000, 'bufferSize');
  const sendBatchSize = positiveInteger(options.sendBatchSize ?? 500, 'sendBatchSize');
  const batchSize = positiveInteger(options.batchSize ?? 200, 'batchSize');
  const blockMs = positiveInteger(options.blockMs ?? 1_000, 'blockMs');
  const claimIdleMs = positiveInteger(options.claimIdleMs ?? 60_000, 'claimIdleMs');
  const retryInitialMs = nonNegative(options.retryInitialMs ?? 100, 'retryInitialMs');
  const retryMaxMs = Math.max(retryInitialMs, nonNegative(options.retryMaxMs ?? 5_000, 'retryMaxMs'));
  const closeTimeoutMs = nonNegative(options.closeTimeoutMs ?? 5_000, 'closeTimeoutMs');
  const log = createLogThrottle(options.logger ?? consoleLogger(), { everyMs: LOG_EVERY_MS });

  let droppedCount = 0;
  let closed = false;
  // The stream's length as last read, and the stamp of the read: a reply to a later request wins.
  let backlog = 0;
  let backlogStamp = 0;
  const onLength = (length: number, stamp: number): void => {
    if (stamp > backlogStamp && Number.isFinite(length)) {
      backlogStamp = stamp;
      backlog = length;
    }
  };
  const onDropped = (count: number): void => {
    droppedCount += count;
  };

  const producer = streamProducer(redis, {
    stream,
    maxLength,
    bufferSize,
    sendBatchSize,
    retryInitialMs,
    retryMaxMs,
    log,
    onLength,
    onDropped,
  });
  const consumers = streamConsumers(redis, {
    stream,
    group,
    consumerName,
    batchSize,
    blockMs,
    claimIdleMs,
    retryInitialMs,
    retryMaxMs,
    log,
    onLength,
    onDropped,
  });

  return {
    enqueue(events) {
      producer.enqueue(events);
    },

    consume(handler) {
      if (closed) throw redisError('closed', 'the queue is closed');
      return consumers.consume(handler);
    },

    depth() {
      // Batches in hand are still in the stream (pending) until acknowledged: `backlog` counts them.
      return producer.held() + backlog;
    },

    dropped() {
      return droppedCount;
    },

    flush() {
      return producer.flush();
    },

    async close() {
      if (closed) return;
      closed = true;
      await consumers.stopAll();
      await producer.close(closeTimeoutMs);
    },
  };
}

function nonEmpty(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw redisError('invalid_config', `${name} must be a non-empty string`);
  }
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw redisError('invalid_config', `${name} must be an integer ≥ 1`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw redisError('invalid_config', `${name} must be a finite number ≥ 0`);
  }
  return value;
}
