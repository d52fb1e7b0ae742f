import { DEFAULT_CONFIG, type TrackerOptions } from '@anon/core';

/** Where app instances and workers connect: the same values for every process. */
export interface Settings {
  /** @default process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** @default process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' */
  pgUrl: string;
  /** Postgres schema of anon's tables. @default process.env.ANON_PG_SCHEMA ?? 'anon' */
  schema: string;
  /** Prefix of the hot store's Redis keys. @default process.env.ANON_REDIS_PREFIX ?? 'anon:' */
  redisPrefix: string;
  /** The Redis stream app instances write to and workers read from. @default process.env.ANON_STREAM ?? 'anon:events' */
  stream: string;
}

/**
 * Settings from the environment. The defaults are the anon CLI's, so `anon worker` can stand in for
 * `src/run-worker.ts` (it reads ANON_REDIS_URL, ANON_PG_URL and ANON_PG_SCHEMA).
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    redisUrl: env.ANON_REDIS_URL || 'redis://127.0.0.1:6379',
    pgUrl: env.ANON_PG_URL || 'postgres://postgres@127.0.0.1:5432/test',
    schema: env.ANON_PG_SCHEMA || 'anon',
    redisPrefix: env.ANON_REDIS_PREFIX || 'anon:',
    stream: env.ANON_STREAM || 'anon:events',
  };
}

/**
 * Tracker options every process must share: the worker's sweeper ends sessions by the same timeout the app
 * instances sessionize with.
 */
export const TRACKER_OPTIONS = {
  excludePaths: [...DEFAULT_CONFIG.excludePaths, '/stats'],
  sessionTimeoutMs: DEFAULT_CONFIG.sessionTimeoutMs,
} satisfies Partial<TrackerOptions>;
