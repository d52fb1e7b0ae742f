import { AnonError, type AnonErrorCode, type Logger } from '@anon/core';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client the user built: a single `Redis` (or Sentinel) connection, or a `Cluster`. */
export type RedisClient = Redis | Cluster;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Statuses in which a command would only wait in the offline queue: fail fast instead. */
const DOWN = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/** True when the client is an ioredis `Cluster`. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Whether a command sent now can be answered soon (connected, or connecting for the first time). */
export function isUsable(client: RedisClient): boolean {
  return !DOWN.has(client.status);
}

/**
 * Registers the Lua scripts on the user's client under names of our own (`anon_<name>_<version>`), once per
 * client; ioredis then sends EVALSHA and falls back to EVAL after a NOSCRIPT (a restarted server).
 */
export function defineScripts<N extends string>(
  client: RedisClient,
  scripts: Record<N, { lua: string; keys: number }>,
): Record<N, ScriptFn> {
  const target = client as unknown as Record<string, ScriptFn | undefined>;
  const out = {} as Record<N, ScriptFn>;
  for (const name of Object.keys(scripts) as N[]) {
    const { lua, keys } = scripts[name];
    const command = `anon_${name}_${versionOf(lua)}`;
    if (typeof target[command] !== 'function') client.defineCommand(command, { lua, numberOfKeys: keys });
    const fn = target[command] as ScriptFn;
    out[name] = (...args) => fn.apply(client, args);
  }
  return out;
}

/** A short, stable fingerprint of a script, so two versions of the adapter in one process never share a name. */
function versionOf(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/**
 * Runs one Redis operation for an adapter method: rejects at once when the client is down, after
 * `timeoutMs` when Redis does not answer, and turns every failure into an `AnonError` with `code`.
 */
export async function guarded<T>(
  client: RedisClient,
  code: AnonErrorCode,
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  if (!isUsable(client)) {
    throw new AnonError(code, `${operation} failed: Redis connection is ${client.status}`, {
      source: 'redis',
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AnonError(code, `${operation} failed: no answer from Redis in ${timeoutMs} ms`, {
            source: 'redis',
          }),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (error) {
    if (error instanceof AnonError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AnonError(code, `${operation} failed: ${reason}`, { source: 'redis', cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** Logs a warning at most once per `intervalMs`, with how many were suppressed since the last one. */
export class ThrottledWarning {
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;
  readonly #logger: Logger;
  readonly #intervalMs: number;

  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(message: string, data: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#last = now;
    this.#logger.warn(message, this.#suppressed > 0 ? { ...data, suppressed: this.#suppressed } : data);
    this.#suppressed = 0;
  }
}
