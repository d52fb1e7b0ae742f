import { createTracker, type Tracker, type TrackerOptions } from '@anon/core';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import type { Redis } from 'ioredis';
import { quiet } from './figures.js';
import type { OwnRedis } from './services.js';

/** Names one scenario's keys and stream use on the suite's Redis. */
export interface RedisNames {
  prefix: string;
  stream: string;
}

export const namesFor = (scenario: string): RedisNames => ({
  prefix: `rel:${scenario}:`,
  stream: `rel:${scenario}:events`,
});

/**
 * An app-side tracker on the suite's Redis: Redis hot store and stream queue, as docs/redis.md sets them up.
 * With `store`, it runs a worker too.
 */
export function redisTracker(
  redis: OwnRedis,
  names: RedisNames,
  options: TrackerOptions & { queueOptions?: Parameters<typeof redisStreamQueue>[1] } = {},
): { tracker: Tracker; client: Redis } {
  const client = redis.client();
  const { queueOptions, ...rest } = options;
  const tracker = createTracker({
    hot: redisHotStore(client, { prefix: names.prefix }),
    queue: redisStreamQueue(client, {
      stream: names.stream,
      blockMs: 200,
      retryMaxMs: 500,
      claimIdleMs: 2_000,
      logger: quiet,
      ...queueOptions,
    }),
    logger: quiet,
    sweeper: false,
    ...rest,
  });
  return { tracker, client };
}
