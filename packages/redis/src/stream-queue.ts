import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  AnonError,
  type AnonEvent,
  type BatchHandler,
  type Consumer,
  consoleLogger,
  type Logger,
  type Queue,
} from '@anon/core';
import { isCluster, type RedisClient, ThrottledWarning } from './client.js';

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
  /** Where failures are reported, at most one line per 10 s. @default consoleLogger() from @anon/core */
  logger?: Logger;
}

interface Pending {
  seq: number;
  event: AnonEvent;
}

type Entry = [id: string, fields: string[] | null];

interface ConsumerState {
  stopping: boolean;
  /** The consumer is blocked in XREADGROUP: stopping it closes its connection instead of waiting. */
  reading: boolean;
  inHand: number;
  connection: RedisClient;
  cancelSleep: (() => void) | null;
  done: Promise<void>;
}

const FIELD = 'e';

/**
 * A `Queue` on Redis Streams with a consumer group: app instances `XADD` (capped), workers `XREADGROUP` in
 * batches on their own connection, `XACK` only after the handler resolved, and `XAUTOCLAIM` entries a dead
 * worker left pending. At least once; the store's idempotent writes make it exactly once.
 *
 * `enqueue` never blocks or throws: events wait in a bounded buffer and are sent in pipelines; while Redis
 * is down they stay there (the oldest dropped past `bufferSize`) and go out when it returns.
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
  const warning = new ThrottledWarning(options.logger ?? consoleLogger(), 10_000);

  // ---------------------------------------------------------------- sending

  let buffer: Pending[] = [];
  let inFlight: Pending[] = [];
  let nextSeq = 0;
  let droppedCount = 0;
  let closed = false;
  let sendFailures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let waitingForReady = false;
  const flushWaiters: { target: number; resolve: () => void }[] = [];
  const consumers = new Set<ConsumerState>();

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
      droppedCount += cut;
    }
  };

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

  const closedAndEmpty = (): boolean => closed && buffer.length === 0 && inFlight.length === 0;

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
      const results = (await pipeline.exec()) ?? [];
      failed = sending.filter((_, i) => results[i] === undefined || results[i]?.[0] != null);
      if (failed.length > 0) {
        const error = results.find((r) => r?.[0] != null)?.[0];
        throw error ?? new Error('no reply');
      }
      sendFailures = 0;
    } catch (error) {
      if (failed.length === 0) failed = sending;
      sendFailures++;
      warning.warn(`[anon] [redis] could not add ${failed.length} events to the stream; they stay buffered`, {
        error: error instanceof Error ? error.message : String(error),
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

  // ---------------------------------------------------------------- consuming

  const sleep = (state: ConsumerState | null, ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (state !== null) state.cancelSleep = null;
        resolve();
      }, ms);
      timer.unref?.();
      if (state !== null) {
        state.cancelSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      }
    });

  const backoff = (attempt: number): number =>
    Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(attempt, 20));

  const ensureGroup = async (connection: RedisClient): Promise<void> => {
    try {
      // From the stream's start: events added before the first worker ever ran are delivered too.
      await connection.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
    }
  };

  /** Turns stream entries into events; malformed ones (not written by anon) are counted and acknowledged. */
  const decode = (entries: Entry[]): { ids: string[]; events: AnonEvent[]; bad: string[] } => {
    const ids: string[] = [];
    const events: AnonEvent[] = [];
    const bad: string[] = [];
    for (const [id, fields] of entries) {
      const index = fields === null ? -1 : fields.indexOf(FIELD);
      const raw = index >= 0 && index % 2 === 0 ? fields?.[index + 1] : undefined;
      let event: unknown;
      try {
        event = raw === undefined ? undefined : JSON.parse(raw);
      } catch {
        event = undefined;
      }
      if (
        event !== null &&
        typeof event === 'object' &&
        typeof (event as { type?: unknown }).type === 'string'
      ) {
        ids.push(id);
        events.push(event as AnonEvent);
      } else {
        bad.push(id);
      }
    }
    return { ids, events, bad };
  };

  /** Hands one batch to the handler until it resolves, then acknowledges it; a stop leaves it pending. */
  const handleBatch = async (
    state: ConsumerState,
    handler: BatchHandler,
    entries: Entry[],
  ): Promise<void> => {
    const { ids, events, bad } = decode(entries);
    if (bad.length > 0) {
      droppedCount += bad.length;
      warning.warn(
        `[anon] [redis] ${bad.length} stream entries were not anon events (or were trimmed); skipped`,
      );
      await ack(state, bad);
    }
    if (ids.length === 0) return;
    // The same entries always make the same batch id, so a replay of a committed batch changes nothing.
    const id = `rs:${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;
    state.inHand = events.length;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await handler({ id, events });
          break;
        } catch (error) {
          warning.warn('[anon] [redis] a batch handler failed; the batch will be retried', {
            error: error instanceof Error ? error.message : String(error),
          });
          // Left pending when stopping: another worker reclaims it after `claimIdleMs`.
          if (state.stopping) return;
          await sleep(state, backoff(attempt));
          if (state.stopping) return;
        }
      }
      await ack(state, ids);
    } finally {
      state.inHand = 0;
    }
  };

  const ack = async (state: ConsumerState, ids: string[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await state.connection.xack(stream, group, ...ids);
        return;
      } catch (error) {
        // Unacknowledged entries are redelivered and deduplicated by the store: retrying is enough.
        warning.warn('[anon] [redis] XACK failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
        });
        if (state.stopping) return;
        await sleep(state, backoff(attempt));
      }
    }
  };

  const run = async (state: ConsumerState, handler: BatchHandler): Promise<void> => {
    let groupReady = false;
    let ownPendingDone = false;
    let lastClaim = Number.NEGATIVE_INFINITY;
    // XAUTOCLAIM walks the pending list in steps; a full pass (back to 0-0) waits before the next one.
    let claimCursor = '0-0';
    let failures = 0;
    while (!state.stopping) {
      try {
        if (!groupReady) {
          await ensureGroup(state.connection);
          groupReady = true;
        }
        let entries: Entry[] = [];
        if (!ownPendingDone) {
          // Entries this consumer name read before a restart and never acknowledged.
          entries = await readGroup(state, '0', false);
          if (entries.length === 0) ownPendingDone = true;
        }
        if (entries.length === 0 && Date.now() - lastClaim >= Math.min(claimIdleMs, 5_000)) {
          [claimCursor, entries] = await autoClaim(state, claimCursor);
          if (entries.length === 0 && claimCursor === '0-0') lastClaim = Date.now();
        }
        if (entries.length === 0) entries = await readGroup(state, '>', true);
        failures = 0;
        if (entries.length > 0) await handleBatch(state, handler, entries);
      } catch (error) {
        if (state.stopping) break;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) groupReady = false;
        warning.warn('[anon] [redis] reading the stream failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
        });
        await sleep(state, backoff(failures++));
      }
    }
  };

  const readGroup = async (state: ConsumerState, from: '0' | '>', block: boolean): Promise<Entry[]> => {
    state.reading = block;
    try {
      const args: (string | number)[] = ['GROUP', group, consumerName, 'COUNT', batchSize];
      if (block) args.push('BLOCK', blockMs);
      args.push('STREAMS', stream, from);
      return entriesOf(await state.connection.call('XREADGROUP', ...args));
    } finally {
      state.reading = false;
    }
  };

  const autoClaim = async (state: ConsumerState, cursor: string): Promise<[string, Entry[]]> => {
    const reply = (await state.connection.call(
      'XAUTOCLAIM',
      stream,
      group,
      consumerName,
      claimIdleMs,
      cursor,
      'COUNT',
      batchSize,
    )) as [string, Entry[], string[]?];
    // Entries trimmed by MAXLEN while pending come back empty (Redis 6.2) or in the third element (7+).
    const deleted = reply[2] ?? [];
    if (deleted.length > 0) {
      droppedCount += deleted.length;
      warning.warn(`[anon] [redis] ${deleted.length} pending stream entries were trimmed before delivery`);
    }
    return [String(reply[0]), reply[1] ?? []];
  };

  const stopConsumer = async (state: ConsumerState): Promise<void> => {
    if (!state.stopping) {
      state.stopping = true;
      state.cancelSleep?.();
      // A blocked read holds nothing yet: close the connection rather than wait out BLOCK.
      if (state.reading) state.connection.disconnect();
    }
    await state.done;
  };

  return {
    enqueue(events) {
      if (!Array.isArray(events) || events.length === 0) return;
      if (closed) {
        droppedCount += events.length;
        return;
      }
      for (const event of events) buffer.push({ seq: nextSeq++, event });
      trimBuffer();
      settleFlushes();
      if (inFlight.length === 0 && retryTimer === null) queueMicrotask(() => void pump());
    },

    consume(handler) {
      if (closed) throw new AnonError('closed', 'the queue is closed', { source: 'redis' });
      if (typeof handler !== 'function') {
        throw new AnonError('invalid_input', 'consume needs a handler function', { source: 'redis' });
      }
      // Blocking reads get their own connection: on the shared one they would hold up every other command.
      // It queues commands until it is ready, even when the app's client fails fast (enableOfflineQueue: false),
      // so the first read does not fail while the new connection is still opening.
      const connection: RedisClient = isCluster(redis)
        ? redis.duplicate([], { enableOfflineQueue: true })
        : redis.duplicate({ enableOfflineQueue: true });
      connection.on('error', () => {
        // Reported through failed reads (throttled); an unhandled 'error' event would crash the process.
      });
      const state: ConsumerState = {
        stopping: false,
        reading: false,
        inHand: 0,
        connection,
        cancelSleep: null,
        done: Promise.resolve(),
      };
      consumers.add(state);
      state.done = run(state, handler).finally(() => {
        consumers.delete(state);
        connection.disconnect();
      });
      const consumer: Consumer = { stop: () => stopConsumer(state) };
      return consumer;
    },

    depth() {
      let inHand = 0;
      for (const c of consumers) inHand += c.inHand;
      return buffer.length + inFlight.length + inHand;
    },

    dropped() {
      return droppedCount;
    },

    flush() {
      const target = nextSeq;
      if (lowWater() >= target) return Promise.resolve();
      const done = new Promise<void>((resolve) => flushWaiters.push({ target, resolve }));
      void pump();
      return done;
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map(stopConsumer));
      if (buffer.length > 0 || inFlight.length > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const target = nextSeq;
        await Promise.race([
          new Promise<void>((resolve) => {
            flushWaiters.push({ target, resolve });
            void pump();
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, closeTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
      if (waitingForReady) redis.off('ready', onReady);
      waitingForReady = false;
      // Whatever Redis did not take in time is lost: count it.
      droppedCount += buffer.length;
      buffer = [];
      settleFlushes();
    },
  };
}

/**
 * The entries of an XREADGROUP reply for one stream, whatever the protocol: RESP2 `[[stream, entries]]`,
 * RESP3 through `call` as a flat map `[stream, entries]`, or an object / Map with `replyMapping: 'resp3'`.
 */
function entriesOf(reply: unknown): Entry[] {
  if (reply === null || reply === undefined) return [];
  if (reply instanceof Map) return ([...reply.values()][0] as Entry[] | undefined) ?? [];
  if (Array.isArray(reply)) {
    if (typeof reply[0] === 'string') return (reply[1] as Entry[] | undefined) ?? [];
    return ((reply[0] as [string, Entry[]] | undefined)?.[1] as Entry[] | undefined) ?? [];
  }
  if (typeof reply === 'object') return (Object.values(reply)[0] as Entry[] | undefined) ?? [];
  return [];
}

function nonEmpty(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new AnonError('invalid_config', `${name} must be a non-empty string`, { source: 'redis' });
  }
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new AnonError('invalid_config', `${name} must be an integer ≥ 1`, { source: 'redis' });
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new AnonError('invalid_config', `${name} must be a finite number ≥ 0`, { source: 'redis' });
  }
  return value;
}
