import type { HotStore, Queue, Store } from '@anon/core';
import { UsageError } from './usage-error.js';

export interface ConnectFlags {
  pglite?: string | undefined;
  pgUrl?: string | undefined;
  mongoUrl?: string | undefined;
  redisUrl?: string | undefined;
  redisPrefix?: string | undefined;
  schema?: string | undefined;
}

/** A store opened from flags and environment, plus Redis ports when a Redis URL is configured. */
export interface Connection {
  store: Store;
  kind: 'pglite' | 'postgres' | 'mongo';
  where: string;
  /** Apply migrations (Postgres) or ensure indexes (MongoDB). */
  prepare(): Promise<unknown>;
  redis: { hot: HotStore; queue: Queue; where: string } | null;
  close(): Promise<void>;
}

/** Flags win over environment: --pglite DIR, --pg-url / ANON_PG_URL, --mongo-url / ANON_MONGO_URL. */
export function resolveFlags(flags: ConnectFlags, env: NodeJS.ProcessEnv): ConnectFlags {
  return {
    pglite: flags.pglite,
    pgUrl: flags.pgUrl ?? (flags.pglite ? undefined : env.ANON_PG_URL),
    mongoUrl: flags.mongoUrl ?? env.ANON_MONGO_URL,
    redisUrl: flags.redisUrl ?? env.ANON_REDIS_URL,
    redisPrefix: flags.redisPrefix ?? env.ANON_REDIS_PREFIX,
    schema: flags.schema ?? env.ANON_PG_SCHEMA,
  };
}

export async function connect(flags: ConnectFlags, opts: { needRedis?: boolean } = {}): Promise<Connection> {
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const base = await openStore(flags, closers);
    let redis: Connection['redis'] = null;
    if (flags.redisUrl) redis = await openRedis(flags.redisUrl, flags.redisPrefix ?? 'anon:', closers);
    else if (opts.needRedis) {
      throw new UsageError(
        'this command needs Redis: set ANON_REDIS_URL or pass --redis-url redis://host:6379',
      );
    }
    return { ...base, redis, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function openStore(flags: ConnectFlags, closers: (() => Promise<unknown>)[]) {
  const { postgresStore } = await import('@anon/postgres');
  if (flags.pglite !== undefined) {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite(flags.pglite === ':memory:' ? undefined : flags.pglite);
    closers.push(() => db.close());
    const store = postgresStore(db, flags.schema ? { schema: flags.schema } : {});
    return {
      store,
      kind: 'pglite' as const,
      where: `PGlite ${flags.pglite}`,
      prepare: () => store.migrate(),
    };
  }
  if (flags.pgUrl) {
    const { default: pg } = await import('pg');
    const Pool = pg.Pool;
    const pool = new Pool({ connectionString: flags.pgUrl, connectionTimeoutMillis: 5_000, max: 4 });
    pool.on('error', () => undefined);
    closers.push(() => pool.end());
    await reach(`Postgres at ${redact(flags.pgUrl)}`, () => pool.query('SELECT 1'));
    const store = postgresStore(pool, flags.schema ? { schema: flags.schema } : {});
    return {
      store,
      kind: 'postgres' as const,
      where: `Postgres ${redact(flags.pgUrl)}`,
      prepare: () => store.migrate(),
    };
  }
  if (flags.mongoUrl) {
    const { MongoClient } = await import('mongodb');
    const { mongoStore } = await import('@anon/mongo');
    const client = new MongoClient(flags.mongoUrl, { serverSelectionTimeoutMS: 5_000 });
    closers.push(() => client.close());
    await reach(`MongoDB at ${redact(flags.mongoUrl)}`, () => client.connect());
    const store = mongoStore(client.db());
    return {
      store,
      kind: 'mongo' as const,
      where: `MongoDB ${redact(flags.mongoUrl)}`,
      prepare: () => store.ensureIndexes(),
    };
  }
  throw new UsageError('no store configured: set ANON_PG_URL or ANON_MONGO_URL, or pass --pglite DIR');
}

async function openRedis(url: string, prefix: string, closers: (() => Promise<unknown>)[]) {
  const { Redis } = await import('ioredis');
  const { redisHotStore, redisStreamQueue } = await import('@anon/redis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  client.on('error', () => undefined);
  closers.push(async () => client.disconnect());
  await reach(`Redis at ${redact(url)}`, () => client.connect());
  const queue = redisStreamQueue(client, { stream: `${prefix}events` });
  closers.push(() => queue.close());
  return { hot: redisHotStore(client, { prefix }), queue, where: `Redis ${redact(url)}` };
}

/** A failure to connect, said plainly (exit code 1, no stack trace). */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
}

async function reach(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const reason = err instanceof Error ? err.message || err.name : String(err);
    throw new ConnectError(`could not reach ${what}: ${reason}. Is the server running and the URL right?`);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
