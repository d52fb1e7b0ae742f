import { Redis } from 'ioredis';
import pg from 'pg';
import type { Settings } from './config.js';

/**
 * A connected Redis client. App instances fail fast while Redis is down (tracking drops views, the queue
 * buffers, bounded: nothing piles up on the request path); the worker is off the request path, so its
 * commands may wait for a reconnect instead.
 */
export async function connectRedis(settings: Settings, role: 'app' | 'worker'): Promise<Redis> {
  const redis = new Redis(settings.redisUrl, {
    enableOfflineQueue: role === 'worker',
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  redis.on('error', (error) => console.warn(`[example] redis: ${error.message}`));
  await redis.connect();
  return redis;
}

/** A PostgreSQL pool (connections open on first use). */
export function postgresPool(settings: Settings): pg.Pool {
  const pool = new pg.Pool({ connectionString: settings.pgUrl, max: 4 });
  pool.on('error', (error) => console.warn(`[example] postgres: ${error.message}`));
  return pool;
}
