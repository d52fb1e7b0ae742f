import { createHash } from 'node:crypto';
import type { AnonEvent, BatchHandler, Consumer } from '@anon/core';
import type { LogThrottle } from '@anon/core/adapter';
import { isCluster, type RedisClient } from './client.js';
import { redisError } from './errors.js';
import { FIELD, nextStamp } from './stream-producer.js';

/** Settings of the consuming side, checked by `redisStreamQueue`. */
export interface ConsumerSettings {
  stream: string;
  group: string;
  consumerName: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Where failures are logged (the queue's throttle: one line per message per window). */
  log: LogThrottle;
  /** Told the stream's length after each acknowledgement and each idle read (no extra round trip per call). */
  onLength(length: number, sentAt: number): void;
  /** Counts entries that could not be delivered (not anon events, or trimmed before delivery). */
  onDropped(count: number): void;
}

/** The consuming side of the stream queue: any number of consumers, each on its own connection. */
export interface StreamConsumers {
  consume(handler: BatchHandler): Consumer;
  /** Events in the batches the handlers are working on now. */
  inHand(): number;
  /** Stops every consumer; each resolves once its batch in hand is done (or left pending). */
  stopAll(): Promise<void>;
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

/**
 * Workers `XREADGROUP` in batches on their own connection, hand each batch to the handler, and only once it
 * resolved acknowledge AND delete its entries (`XACK` + `XDEL` in one `MULTI`): nothing the store holds stays
 * in Redis. A worker that dies holding a batch leaves it pending; another one `XAUTOCLAIM`s it after
 * `claimIdleMs`, and the same entries make the same batch id, so the store's idempotent write makes the
 * redelivery change nothing. Deleting assumes one consumer group per stream (this queue's).
 */
export function streamConsumers(redis: RedisClient, settings: ConsumerSettings): StreamConsumers {
  const { stream, group, consumerName, batchSize, blockMs, claimIdleMs, retryInitialMs, retryMaxMs, log } =
    settings;
  const consumers = new Set<ConsumerState>();

  const sleep = (state: ConsumerState, ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        state.cancelSleep = null;
        resolve();
      }, ms);
      timer.unref?.();
      state.cancelSleep = () => {
        clearTimeout(timer);
        resolve();
      };
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

  /** Acknowledges and deletes entries in one transaction, and reads the stream's length in it. */
  const ack = async (state: ConsumerState, ids: string[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const stamp = nextStamp();
        const results = await state.connection
          .multi()
          .xack(stream, group, ...ids)
          .xdel(stream, ...ids)
          .xlen(stream)
          .exec();
        if (results === null) throw new Error('the XACK/XDEL transaction was aborted');
        const failed = results.find((r) => r[0] != null);
        if (failed !== undefined) throw failed[0];
        settings.onLength(Number(results[2]?.[1]), stamp);
        return;
      } catch (error) {
        // Unacknowledged entries are redelivered and deduplicated by the store: retrying is enough.
        log.warn('[anon] [redis] XACK/XDEL failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
        });
        if (state.stopping) return;
        await sleep(state, backoff(attempt));
      }
    }
  };

  /** Hands one batch to the handler until it resolves, then acknowledges it; a stop leaves it pending. */
  const handleBatch = async (
    state: ConsumerState,
    handler: BatchHandler,
    entries: Entry[],
  ): Promise<void> => {
    const { ids, events, bad } = decode(entries);
    if (bad.length > 0) {
      settings.onDropped(bad.length);
      log.warn('[anon] [redis] stream entries that were not anon events (or were trimmed) were skipped', {
        entries: bad.length,
      });
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
        } catch {
          // The handler reports its own failure (the tracker's worker logs it, throttled): a line here
          // would stack a second one on each. Left pending when stopping: another worker reclaims it after
          // `claimIdleMs`.
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
      settings.onDropped(deleted.length);
      log.warn('[anon] [redis] pending stream entries were trimmed before delivery', {
        entries: deleted.length,
      });
    }
    return [String(reply[0]), reply[1] ?? []];
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
        if (entries.length > 0) {
          await handleBatch(state, handler, entries);
        } else {
          // Idle for `blockMs`: refresh the backlog others may have left (one small command per idle read).
          const stamp = nextStamp();
          settings.onLength(Number(await state.connection.xlen(stream)), stamp);
        }
      } catch (error) {
        if (state.stopping) break;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) groupReady = false;
        log.warn('[anon] [redis] reading the stream failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
        });
        await sleep(state, backoff(failures++));
      }
    }
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
    consume(handler) {
      if (typeof handler !== 'function') {
        throw redisError('invalid_input', 'consume needs a handler function');
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
      return { stop: () => stopConsumer(state) };
    },

    inHand() {
      let inHand = 0;
      for (const c of consumers) inHand += c.inHand;
      return inHand;
    },

    async stopAll() {
      await Promise.all([...consumers].map(stopConsumer));
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
