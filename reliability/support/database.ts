import { type PostgresStore, postgresStore } from '@anon/postgres';
import type { Pool } from 'pg';
import { dropSchema, freshSchema, PG_URL, pool } from './services.js';

/** A Postgres store on a schema of its own, with raw reads that bypass the adapter. */
export interface Database {
  schema: string;
  pool: Pool;
  store: PostgresStore;
  /** One number from raw SQL; `$schema` is replaced by the quoted schema. */
  count(sql: string, params?: unknown[]): Promise<number>;
  rows<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Closes the store and pool and drops the schema. */
  drop(): Promise<void>;
}

/** A fresh schema for `scenario`, migrated, reached directly or through `url` (the suite's proxy). */
export async function openDatabase(scenario: string, url = PG_URL): Promise<Database> {
  const schema = freshSchema(scenario);
  const p = pool(url, 6);
  const store = postgresStore(p, { schema });
  await store.migrate();
  const sql = (text: string) => text.replaceAll('$schema', `"${schema}"`);
  const direct = url === PG_URL ? p : pool();
  return {
    schema,
    pool: p,
    store,
    async count(text, params = []) {
      const result = await direct.query(sql(text), params);
      return Number(Object.values(result.rows[0] ?? { n: 0 })[0] ?? 0);
    },
    async rows<R>(text: string, params: unknown[] = []) {
      return (await direct.query(sql(text), params)).rows as R[];
    },
    async drop() {
      await store.close().catch(() => undefined);
      await p.end().catch(() => undefined);
      if (direct !== p) await direct.end().catch(() => undefined);
      await dropSchema(schema);
    },
  };
}
