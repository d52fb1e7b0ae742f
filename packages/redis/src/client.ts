import { AnonError, type AnonErrorCode } from '@anon/core';
import type { Cluster, Redis } from 'ioredis';
import { redisError } from './errors.js';

/** An ioredis client the user built: a single `Redis` (or Sentinel) connection, or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** A registered script: call it alone, or queue it on a pipeline under its `command` name. */
export type ScriptFn = ((...args: (string | number)[]) => Promise<unknown>) & { readonly command: string };

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
    const fn = target[command] as (...args: (string | number)[]) => Promise<unknown>;
    out[name] = Object.assign((...args: (string | number)[]) => fn.apply(client, args), { command });
  }
  return out;
}

/** One script call of a pipeline: the script, the slot of its keys, and its arguments (keys first). */
export interface PipelinedCall {
  script: ScriptFn;
  slot: number;
  args: (string | number)[];
}

/**
 * Sends script calls in as few pipelines as the client allows and returns their replies in order, or rejects
 * with the first error. A single Redis takes them all in one pipeline; a Cluster client only pipelines
 * commands whose slots are served by the same nodes, so the calls are split per node group (one pipeline,
 * one round trip, per master), all sent at once. A slot whose node is not known yet gets a pipeline of its own.
 */
export async function pipelined(client: RedisClient, calls: readonly PipelinedCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const groups = new Map<string, number[]>();
  if (isCluster(client)) {
    for (let i = 0; i < calls.length; i++) {
      const slot = (calls[i] as PipelinedCall).slot;
      const nodes = client.slots[slot];
      const group = nodes === undefined || nodes.length === 0 ? `slot:${slot}` : nodes.join(';');
      const members = groups.get(group);
      if (members === undefined) groups.set(group, [i]);
      else members.push(i);
    }
  } else {
    groups.set(
      '',
      calls.map((_, i) => i),
    );
  }
  const replies: unknown[] = new Array(calls.length);
  await Promise.all(
    [...groups.values()].map(async (members) => {
      const pipeline = client.pipeline() as unknown as Record<
        string,
        (...args: (string | number)[]) => void
      > & {
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      for (const i of members) {
        const call = calls[i] as PipelinedCall;
        (pipeline[call.script.command] as (...args: (string | number)[]) => void)(...call.args);
      }
      const results = await pipeline.exec();
      for (let j = 0; j < members.length; j++) {
        const result = results?.[j];
        if (result === undefined) throw new Error('a pipeline returned fewer replies than it was sent');
        if (result[0] !== null) throw result[0];
        replies[members[j] as number] = result[1];
      }
    }),
  );
  return replies;
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
    throw redisError(code, `${operation} failed: Redis connection is ${client.status}`);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(redisError(code, `${operation} failed: no answer from Redis in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (error) {
    if (error instanceof AnonError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw redisError(code, `${operation} failed: ${reason}`, error);
  } finally {
    clearTimeout(timer);
  }
}
