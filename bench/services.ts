import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Where the bench finds Redis and Postgres (the same variables the integration tests read). */
export const REDIS_URL = process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A name part unique to this run, so concurrent test suites and benches never share keys or schemas. */
export const RUN_ID = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

/** A service the bench reached, or why it could not. */
export type Reached<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Connects to Redis with auto-pipelining (many concurrent page views share one socket write), failing fast
 * when no server answers.
 */
export async function connectRedis(): Promise<Reached<Redis>> {
  const redis = new Redis(REDIS_URL, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return { ok: true, value: redis };
  } catch (error) {
    redis.disconnect();
    return { ok: false, reason: `Redis unreachable at ${REDIS_URL}: ${(error as Error).message}` };
  }
}

/** A pg Pool of `max` connections, or why Postgres could not be reached. */
export async function connectPostgres(max = 4): Promise<Reached<pg.Pool>> {
  const pool = new pg.Pool({ connectionString: PG_URL, max, connectionTimeoutMillis: 3_000 });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
    return { ok: true, value: pool };
  } catch (error) {
    await pool.end().catch(() => undefined);
    return { ok: false, reason: `Postgres unreachable at ${PG_URL}: ${(error as Error).message}` };
  }
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the server may be shared). Returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
