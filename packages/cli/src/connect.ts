import type { HotStore, Queue, Store } from '@anon/core';
import { loadOptional, OPTIONAL } from './optional-packages.js';
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
  /** Apply migrations (Postgres) or ensure indexes (MongoDB); resolves to a line saying what it did. */
  prepare(): Promise<string>;
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
  // Every URL is checked before anything opens, so a typo fails at once rather than after PGlite starts.
  if (flags.pglite === undefined && flags.pgUrl) checkUrl(flags.pgUrl, URLS.postgres);
  else if (flags.pglite === undefined && flags.mongoUrl) checkUrl(flags.mongoUrl, URLS.mongo);
  if (flags.redisUrl) checkUrl(flags.redisUrl, URLS.redis);
  else if (opts.needRedis) {
    throw new UsageError(
      'this command needs Redis: set ANON_REDIS_URL or pass --redis-url redis://host:6379',
    );
  }
  try {
    const base = await openStore(flags, closers);
    const redis = flags.redisUrl
      ? await openRedis(flags.redisUrl, flags.redisPrefix ?? 'anon:', closers)
      : null;
    return { ...base, redis, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function openStore(flags: ConnectFlags, closers: (() => Promise<unknown>)[]) {
  if (flags.pglite !== undefined) {
    const [{ postgresStore }, { PGlite }] = await loadOptional(OPTIONAL.pglite, () =>
      Promise.all([import('@anon/postgres'), import('@electric-sql/pglite')]),
    );
    const db = new PGlite(flags.pglite === ':memory:' ? undefined : flags.pglite);
    closers.push(() => db.close());
    const store = postgresStore(db, flags.schema ? { schema: flags.schema } : {});
    const where = `PGlite ${flags.pglite}`;
    return {
      store,
      kind: 'pglite' as const,
      where,
      prepare: async () => migrated(where, await store.migrate()),
    };
  }
  if (flags.pgUrl) {
    const [{ postgresStore }, { default: pg }] = await loadOptional(OPTIONAL.postgres, () =>
      Promise.all([import('@anon/postgres'), import('pg')]),
    );
    const pool = new pg.Pool({ connectionString: flags.pgUrl, connectionTimeoutMillis: 5_000, max: 4 });
    pool.on('error', () => undefined);
    closers.push(() => pool.end());
    await reach(`Postgres at ${redact(flags.pgUrl)}`, () => pool.query('SELECT 1'));
    const store = postgresStore(pool, flags.schema ? { schema: flags.schema } : {});
    const where = `Postgres ${redact(flags.pgUrl)}`;
    return {
      store,
      kind: 'postgres' as const,
      where,
      prepare: async () => migrated(where, await store.migrate()),
    };
  }
  if (flags.mongoUrl) {
    const [{ MongoClient }, { mongoStore }] = await loadOptional(OPTIONAL.mongo, () =>
      Promise.all([import('mongodb'), import('@anon/mongo')]),
    );
    const client = new MongoClient(flags.mongoUrl, { serverSelectionTimeoutMS: 5_000 });
    closers.push(() => client.close());
    await reach(`MongoDB at ${redact(flags.mongoUrl)}`, () => client.connect());
    const store = mongoStore(client.db());
    const where = `MongoDB ${redact(flags.mongoUrl)}`;
    return {
      store,
      kind: 'mongo' as const,
      where,
      // createIndexes names every index it was given, new or not: count them, do not claim they were created.
      prepare: async () => `${where}: ${(await store.ensureIndexes()).length} indexes in place`,
    };
  }
  throw new UsageError('no store configured: set ANON_PG_URL or ANON_MONGO_URL, or pass --pglite DIR');
}

/** The line `anon migrate` prints for a Postgres or PGlite store. */
function migrated(where: string, result: { applied: number[]; version: number }): string {
  const { applied, version } = result;
  if (applied.length === 0) return `${where} is up to date (schema version ${version})`;
  const list = applied.join(', ');
  return `migrated ${where}: applied ${applied.length === 1 ? 'migration' : 'migrations'} ${list}; schema version ${version}`;
}

async function openRedis(url: string, prefix: string, closers: (() => Promise<unknown>)[]) {
  const [{ Redis }, { redisHotStore, redisStreamQueue }] = await loadOptional(OPTIONAL.redis, () =>
    Promise.all([import('ioredis'), import('@anon/redis')]),
  );
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  client.on('error', () => undefined);
  closers.push(async () => client.disconnect());
  await reach(`Redis at ${redact(url)}`, () => client.connect());
  const queue = redisStreamQueue(client, { stream: `${prefix}events` });
  closers.push(() => queue.close());
  return { hot: redisHotStore(client, { prefix }), queue, where: `Redis ${redact(url)}` };
}

/** What each URL flag accepts, and the example its error message shows. */
const URLS = {
  postgres: {
    what: 'the PostgreSQL URL (--pg-url / ANON_PG_URL)',
    protocols: ['postgres:', 'postgresql:', 'socket:'],
    example: 'postgres://user:password@host:5432/database',
  },
  mongo: {
    what: 'the MongoDB URL (--mongo-url / ANON_MONGO_URL)',
    protocols: ['mongodb:', 'mongodb+srv:'],
    example: 'mongodb://host:27017/database',
  },
  redis: {
    what: 'the Redis URL (--redis-url / ANON_REDIS_URL)',
    protocols: ['redis:', 'rediss:'],
    example: 'redis://host:6379',
  },
} as const;

/**
 * Refuse a URL that does not parse or has another scheme before any driver sees it: the drivers read
 * `not a url` as a host name and fail later with a DNS error that does not point at the flag.
 */
function checkUrl(url: string, kind: (typeof URLS)[keyof typeof URLS]): void {
  let protocol: string | null = null;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (protocol === null || !(kind.protocols as readonly string[]).includes(protocol)) {
    const why =
      protocol === null ? 'is not a valid URL' : `has the scheme ${protocol}//, not ${kind.protocols[0]}//`;
    throw new UsageError(`${kind.what} ${why}: "${redact(url)}"; expected a URL like ${kind.example}`);
  }
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
