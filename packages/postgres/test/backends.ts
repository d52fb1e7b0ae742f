import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { PostgresClient } from '../src/index.js';
import { type PostgresStore, type PostgresStoreOptions, postgresStore } from '../src/index.js';
import { type StoreProbe, storeProbe } from './probe.js';

export const PG_URL = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A backend the tests run against: a real server through a pg Pool, or an in-memory PGlite. */
export interface Backend {
  name: 'postgres' | 'pglite';
  client: PostgresClient;
  end(): Promise<void>;
}

/**
 * A pg Pool on ANON_PG_URL, or null (with a printed reason) when the server is unreachable. Under CI a
 * missing server fails the run instead of skipping it.
 */
export async function connectPostgres(): Promise<Backend | null> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 8, connectionTimeoutMillis: 3_000 });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    const reason = `PostgreSQL unreachable at ${PG_URL}: ${(err as Error).message}`;
    if (process.env.CI === 'true')
      throw new Error(`[anon] [postgres] ${reason} (CI=true: failing instead of skipping)`);
    console.warn(`[anon] [postgres] skipping PostgreSQL tests: ${reason}`);
    return null;
  }
  return { name: 'postgres', client: pool, end: () => pool.end() };
}

/** An in-memory PGlite instance (one per test file: it takes a few seconds to start). */
export async function startPGlite(): Promise<Backend> {
  const db = new PGlite();
  await db.waitReady;
  return { name: 'pglite', client: db, end: () => db.close() };
}

/** Backends available to this test file: PGlite always, PostgreSQL when reachable (required under CI). */
export async function backends(): Promise<Backend[]> {
  const server = await connectPostgres();
  return [...(server ? [server] : []), await startPGlite()];
}

let counter = 0;

/** A schema name no other test (or test file running in parallel) uses. */
export function uniqueSchema(): string {
  counter += 1;
  return `anon_t_${process.pid}_${Date.now().toString(36)}_${counter}_${Math.random().toString(36).slice(2, 6)}`;
}

export interface Fixture {
  store: PostgresStore;
  probe: StoreProbe;
  schema: string;
  cleanup(): Promise<void>;
}

/** A migrated store in a fresh schema of `backend`, its raw probe, and a cleanup that drops the schema. */
export async function freshStore(backend: Backend, options: PostgresStoreOptions = {}): Promise<Fixture> {
  const schema = options.schema ?? uniqueSchema();
  const store = postgresStore(backend.client, { partitionsAhead: 1, ...options, schema });
  await store.migrate();
  return {
    store,
    schema,
    probe: storeProbe(backend.client, schema),
    async cleanup() {
      await store.close();
      await backend.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}
