import { AnonError } from '@anon/core';
import { inTransaction, type PostgresClient, rowsOf } from './client.js';
import { postgresError, storeError } from './errors.js';
import { advisoryLock } from './locks.js';
import { MIGRATIONS } from './migrations/index.js';

/** What `migrate()` did. */
export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/**
 * Apply every pending migration in one transaction under an advisory lock on the schema, so concurrent
 * callers (two app instances starting at once) serialize and the second finds nothing to do.
 */
export async function migrate(
  client: PostgresClient,
  schema: string,
  quoted: string,
): Promise<MigrateResult> {
  try {
    return await inTransaction(client, async (q) => {
      const [lockSql, lockParams] = advisoryLock(schema, 'migrate');
      await q.query(lockSql, lockParams);
      await q.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await q.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      );
      const done = new Set(
        (await rowsOf<{ version: number }>(q, `SELECT version FROM ${quoted}.schema_migrations`)).map(
          (r) => r.version,
        ),
      );
      const latest = MIGRATIONS.at(-1)?.version ?? 0;
      const newest = Math.max(0, ...done);
      if (newest > latest) {
        throw postgresError(
          'migration_failed',
          `schema "${schema}" is at version ${newest}, newer than this package knows (${latest}); upgrade @anon/postgres`,
        );
      }
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const statement of m.statements(quoted)) await q.query(statement);
        await q.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
        applied.push(m.version);
      }
      return { applied, version: latest };
    });
  } catch (err) {
    if (err instanceof AnonError) throw err;
    const mapped = storeError(`migrating schema "${schema}"`, err);
    if (mapped.code === 'store_unavailable') throw mapped;
    throw postgresError('migration_failed', mapped.message.replace(/^\[anon\] \[postgres\] /, ''), err);
  }
}
