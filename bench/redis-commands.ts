import type { Redis } from 'ioredis';

/**
 * Counts every command this client sends, by name, by wrapping `sendCommand` on this one client. A pipeline
 * hands each of its commands to `sendCommand` too, so a pipelined command counts once, like any other: the
 * figure is commands, and a batch of N views sent as one script call counts 1.
 */
export function countCommands(redis: Redis): {
  counts: Map<string, number>;
  total(): number;
  restore(): void;
} {
  const counts = new Map<string, number>();
  let total = 0;
  const target = redis as unknown as {
    sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown;
  };
  const original = target.sendCommand;
  target.sendCommand = function (command, ...rest) {
    total += 1;
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
  return {
    counts,
    total: () => total,
    restore: () => {
      target.sendCommand = original;
    },
  };
}

/** The Redis server's own figures, read with `INFO`: they cover every client of the server, not just ours. */
export interface RedisServerSample {
  /** Calls of every command since the server started (`INFO commandstats`), script-internal calls included. */
  calls: number;
  /** Calls of `EVAL`/`EVALSHA`/`FCALL` and their read-only forms: the round trips that ran a script. */
  scriptCalls: number;
  /** `used_cpu_user` + `used_cpu_sys` (`INFO cpu`), in µs. */
  cpuUs: number;
  /** Calls per command name (`INFO commandstats`), script-internal calls included: what a script spends its time on. */
  byCommand: Record<string, number>;
}

/** One reading of `INFO commandstats` and `INFO cpu`; subtract two readings for a run's share. */
export async function sampleRedisServer(redis: Redis): Promise<RedisServerSample> {
  const [stats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  let calls = 0;
  let scriptCalls = 0;
  const byCommand: Record<string, number> = {};
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const n = Number(match[2]);
    calls += n;
    byCommand[match[1]!] = n;
    if (/^(evalsha|eval|fcall)(_ro)?$/.test(match[1]!)) scriptCalls += n;
  }
  const field = (name: string) => readField(cpu, name);
  return {
    calls,
    scriptCalls,
    cpuUs: Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6),
    byCommand,
  };
}

function readField(info: string, name: string): number {
  const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

/** `after − before`, field by field (commands that were not called in between are left out). */
export function redisServerDelta(before: RedisServerSample, after: RedisServerSample): RedisServerSample {
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.byCommand)) {
    const delta = n - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta;
  }
  return {
    calls: after.calls - before.calls,
    scriptCalls: after.scriptCalls - before.scriptCalls,
    cpuUs: after.cpuUs - before.cpuUs,
    byCommand,
  };
}
