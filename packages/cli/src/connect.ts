import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HotStore, Queue, Store } from '@anon/core';
import type { PostgresStore, Queryable } from '@anon/postgres';
import { deferredPGlite } from './deferred-pglite.js';
import { loadOptional, OPTIONAL } from './optional-packages.js';
import { redactUrl } from './secrets.js';
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

/**
 * Flags win over environment: --pglite DIR, --pg-url / ANON_PG_URL, --mongo-url / ANON_MONGO_URL. A store flag
 * sets the store, whatever the environment says; two store flags are a usage error rather than a silent choice.
 */
export function resolveFlags(flags: ConnectFlags, env: NodeJS.ProcessEnv): ConnectFlags {
  const given = (
    [
      ['--pglite', flags.pglite],
      ['--pg-url', flags.pgUrl],
      ['--mongo-url', flags.mongoUrl],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (given.length > 1) {
    const names = given.map(([name]) => name);
    throw new UsageError(
      `${names.slice(0, -1).join(', ')} and ${names.at(-1)} each name a store: give one of them`,
    );
  }
  const fromEnv = given.length === 0;
  return {
    pglite: flags.pglite,
    pgUrl: flags.pgUrl ?? (fromEnv ? env.ANON_PG_URL : undefined),
    mongoUrl: flags.mongoUrl ?? (fromEnv ? env.ANON_MONGO_URL : undefined),
    redisUrl: flags.redisUrl ?? env.ANON_REDIS_URL,
    redisPrefix: flags.redisPrefix ?? env.ANON_REDIS_PREFIX,
    schema: flags.schema ?? env.ANON_PG_SCHEMA,
  };
}

/** What a command does with the store. */
export interface ConnectOptions {
  /** Fail without a Redis URL (`worker`); otherwise Redis is opened only when one is configured. */
  needRedis?: boolean;
  /**
   * `create` may create the database, schema and tables (`migrate`, `worker`); `existing` (the default) never
   * creates anything and refuses a PGlite folder, schema or tables that are missing or older than the store,
   * saying that `anon migrate` creates them.
   */
  store?: 'create' | 'existing';
}

export async function connect(flags: ConnectFlags, opts: ConnectOptions = {}): Promise<Connection> {
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  // Every URL is checked before anything opens, so a typo fails at once rather than after PGlite starts.
  if (flags.pglite === undefined && flags.pgUrl) checkUrl(flags.pgUrl, URLS.postgres);
  else if (flags.pglite === undefined && flags.mongoUrl) checkUrl(flags.mongoUrl, URLS.mongo);
  const redisUrl = checkRedisFlags(flags, opts.needRedis ?? false);
  try {
    const base = await openStore(flags, opts.store ?? 'existing', closers);
    const redis = redisUrl ? await openRedis(redisUrl, flags.redisPrefix ?? 'anon:', closers) : null;
    return { ...base, redis, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Redis alone, for `report realtime`: it reads the hot store and needs no store of record. */
export async function connectRedis(
  flags: ConnectFlags,
): Promise<NonNullable<Connection['redis']> & Closable> {
  const url = checkRedisFlags(flags, true) as string;
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    return { ...(await openRedis(url, flags.redisPrefix ?? 'anon:', closers)), close };
  } catch (err) {
    await close();
    throw err;
  }
}

interface Closable {
  close(): Promise<void>;
}

function checkRedisFlags(flags: ConnectFlags, need: boolean): string | undefined {
  if (flags.redisUrl) checkUrl(flags.redisUrl, URLS.redis);
  else if (need) {
    throw new UsageError(
      'this command needs Redis: set ANON_REDIS_URL or pass --redis-url redis://host:6379',
    );
  }
  return flags.redisUrl;
}

async function openStore(
  flags: ConnectFlags,
  mode: 'create' | 'existing',
  closers: (() => Promise<unknown>)[],
) {
  const autoMigrate = mode === 'create';
  const schema = flags.schema ? { schema: flags.schema } : {};
  if (flags.pglite !== undefined) {
    const [{ postgresStore }, { PGlite }] = await loadOptional(OPTIONAL.pglite, () =>
      Promise.all([import('@anon/postgres'), import('@electric-sql/pglite')]),
    );
    const dir = flags.pglite === ':memory:' ? undefined : flags.pglite;
    const where = `PGlite ${flags.pglite}`;
    if (dir !== undefined && mode === 'existing' && !existsSync(join(dir, 'PG_VERSION'))) {
      throw new ConnectError(
        `there is no PGlite database in ${dir}: 'anon migrate --pglite ${dir}' creates one`,
      );
    }
    const db = deferredPGlite(dir, (d) => new PGlite(d));
    closers.push(() => db.close());
    const store = postgresStore(db, { ...schema, autoMigrate });
    if (mode === 'existing') await checkSchema(store, db, where);
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
    await reach(`Postgres at ${redactUrl(flags.pgUrl)}`, () => pool.query('SELECT 1'));
    const store = postgresStore(pool, { ...schema, autoMigrate });
    const where = `Postgres ${redactUrl(flags.pgUrl)}`;
    if (mode === 'existing') await checkSchema(store, pool, where);
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
    await reach(`MongoDB at ${redactUrl(flags.mongoUrl)}`, () => client.connect());
    // MongoDB creates nothing on a read: a collection that is missing reads as empty.
    const store = mongoStore(client.db());
    const where = `MongoDB ${redactUrl(flags.mongoUrl)}`;
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

/**
 * A command that must not create anything checks that the store's schema is there and current, rather than
 * letting the store's first read create it (`anon report --schema typo` would leave an empty schema behind).
 */
async function checkSchema(store: PostgresStore, db: Queryable, where: string): Promise<void> {
  const { MIGRATIONS } = await import('@anon/postgres');
  const schema = store.schema;
  // The store's first statement takes a PGlite folder's lock before PGlite opens the folder, so it goes first; on
  // a missing schema it fails, and the catalog says why below.
  await store.visitorSessions(['anon-cli-check'], 0, 0).catch((err: unknown) => {
    if (!isMissingRelation(err)) throw err;
  });
  const [state] = (
    await db.query(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS "schema",
              to_regclass($2) IS NOT NULL AS "tables"`,
      [schema, `"${schema}".schema_migrations`],
    )
  ).rows as { schema: boolean; tables: boolean }[];
  const create = "'anon migrate' (with the same store flags) creates it";
  if (!state?.schema) {
    throw new ConnectError(
      `the schema "${schema}" does not exist in ${where}: ${create}; check --schema / ANON_PG_SCHEMA`,
    );
  }
  if (!state.tables)
    throw new ConnectError(`the schema "${schema}" in ${where} has no anon tables: ${create}`);
  const [row] = (
    await db.query(`SELECT coalesce(max(version), 0) AS version FROM "${schema}".schema_migrations`)
  ).rows as { version: number }[];
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if ((row?.version ?? 0) < latest) {
    throw new ConnectError(
      `the schema "${schema}" in ${where} is at version ${row?.version ?? 0}, this @anon/postgres needs ${latest}: ` +
        "run 'anon migrate' (with the same store flags) to upgrade it",
    );
  }
}

/** SQLSTATE 42P01 (undefined table) or 3F000 (undefined schema), as the store reports it (the driver's error as cause). */
function isMissingRelation(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === '42P01' || code === '3F000';
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
  // A refused AUTH (WRONGPASS) reaches only the 'error' event; connect() then fails with "Connection is closed".
  let refusal: unknown;
  client.on('error', (err) => {
    refusal ??= err;
  });
  closers.push(async () => client.disconnect());
  await reach(`Redis at ${redactUrl(url)}`, () =>
    client.connect().catch((err) => Promise.reject(refusal ?? err)),
  );
  const queue = redisStreamQueue(client, { stream: `${prefix}events` });
  closers.push(() => queue.close());
  return { hot: redisHotStore(client, { prefix }), queue, where: `Redis ${redactUrl(url)}` };
}

/** What each URL flag accepts, and the example its error message shows. */
const URLS = {
  postgres: {
    what: 'the PostgreSQL URL (--pg-url / ANON_PG_URL)',
    protocols: ['postgres:', 'postgresql:', 'socket:'],
    // No password in the example: the CLI masks every line it prints, and `user:password@` would show as
    // `user:***@`.
    example: 'postgres://user@host:5432/database',
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
    throw new UsageError(`${kind.what} ${why}: "${redactUrl(url)}"; expected a URL like ${kind.example}`);
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
    const reason = (err instanceof Error ? err.message || err.name : String(err)).replace(/\.+$/, '');
    throw new ConnectError(`could not reach ${what}: ${reason}. Is the server running and the URL right?`);
  }
}
