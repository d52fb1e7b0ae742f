import { createTracker, type Tracker } from '@anon/core';
import { type PostgresStore, postgresStore } from '@anon/postgres';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import { type Settings, TRACKER_OPTIONS } from './config.js';
import { connectRedis, postgresPool } from './connections.js';

/** The running worker. */
export interface RunningWorker {
  tracker: Tracker;
  store: PostgresStore;
  /** Finishes the batch in hand, stops the sweeper, and closes the connections. */
  close(): Promise<void>;
}

/**
 * The worker: drains the Redis stream into PostgreSQL and finalizes idle sessions. It tracks nothing itself.
 * Run as many as you like: they share the stream through a consumer group, and each idle session is claimed
 * by exactly one sweeper.
 */
export async function startWorker(settings: Settings, sweepIntervalMs = 10_000): Promise<RunningWorker> {
  const redis = await connectRedis(settings, 'worker');
  const pool = postgresPool(settings);
  const store = postgresStore(pool, { schema: settings.schema });
  try {
    await store.migrate();
  } catch (error) {
    await pool.end();
    redis.disconnect();
    throw error;
  }
  const tracker = createTracker({
    ...TRACKER_OPTIONS,
    hot: redisHotStore(redis, { prefix: settings.redisPrefix }),
    queue: redisStreamQueue(redis, { stream: settings.stream }),
    store,
    worker: true,
    sweeper: { intervalMs: sweepIntervalMs },
  });
  return {
    tracker,
    store,
    async close() {
      await tracker.close();
      await store.close();
      await pool.end();
      await redis.quit();
    },
  };
}
