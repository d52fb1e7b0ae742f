import { isAnonError } from '@anon/core';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, postgresStore } from '../src/index.js';
import { backends, freshStore, uniqueSchema } from './backends.js';
import { batch, DAY_MS, dayOf, ev, T0, visit } from './fixtures.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

const TABLES = [
  'batches',
  'conversions',
  'daily_aggregates',
  'daily_jobs',
  'page_metrics',
  'page_views',
  'page_visitors',
  'schema_migrations',
  'session_rollups',
  'sessions',
  'visitor_rollups',
];

describe.each(list)('migrations on $name', (backend) => {
  const tablesOf = async (schema: string) =>
    (
      await backend.client.query(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
        [schema],
      )
    ).rows.map((r) => (r as { name: string }).name);

  it('migrate applies every migration once; a second call is a no-op', async () => {
    const schema = uniqueSchema();
    const store = postgresStore(backend.client, { schema });
    try {
      const first = await store.migrate();
      expect(first).toEqual({
        applied: MIGRATIONS.map((m) => m.version),
        version: MIGRATIONS.at(-1)!.version,
      });
      expect(await tablesOf(schema)).toEqual(TABLES);
      expect(await store.migrate()).toEqual({ applied: [], version: first.version });
      const recorded = await backend.client.query(
        `SELECT version, name FROM "${schema}".schema_migrations ORDER BY 1`,
      );
      expect(recorded.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      await backend.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('concurrent migrations from several stores apply each version exactly once', async () => {
    const schema = uniqueSchema();
    try {
      const stores = Array.from({ length: 6 }, () => postgresStore(backend.client, { schema }));
      const results = await Promise.all(stores.map((s) => s.migrate()));
      const applied = results.flatMap((r) => r.applied);
      expect(applied.sort()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      const rows = await backend.client.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
      expect(rows.rows).toEqual([{ n: MIGRATIONS.length }]);
      expect(await tablesOf(schema)).toEqual(TABLES);
    } finally {
      await backend.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('a schema at version 1 with data upgrades to the rollup tables, and a purge then folds its sessions', async () => {
    const schema = uniqueSchema();
    const quoted = `"${schema}"`;
    try {
      // The schema as the previous release left it: migration 1 only.
      await backend.client.query(`CREATE SCHEMA ${quoted}`);
      await backend.client.query(
        `CREATE TABLE ${quoted}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const statement of MIGRATIONS[0]!.statements(quoted)) await backend.client.query(statement);
      await backend.client.query(
        `INSERT INTO ${quoted}.schema_migrations (version, name) VALUES (1, 'initial')`,
      );
      const v1 = postgresStore(backend.client, { schema, autoMigrate: false });
      // Partitions of the day written are created by the write itself.
      const old = visit('old-anon', ['/', '/a'], { start: T0 - 100 * DAY_MS });
      await v1.write(batch([...old.views.map(ev.view), ev.session(old.session)]));

      const store = postgresStore(backend.client, { schema });
      expect(await store.migrate()).toEqual({
        applied: MIGRATIONS.slice(1).map((m) => m.version),
        version: MIGRATIONS.at(-1)!.version,
      });
      expect(await tablesOf(schema)).toEqual(TABLES);
      const day = dayOf(T0 - 100 * DAY_MS);
      const q = { from: day, to: day };
      const before = await store.sessions(q);
      expect(before.sessions).toBe(1);
      expect(await store.purge(T0)).toEqual({ sessions: 1, pageViews: 2, metrics: 0 });
      expect(await store.sessions(q)).toEqual(before);
    } finally {
      await backend.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('a store migrates itself before its first call unless autoMigrate is false', async () => {
    const lazy = uniqueSchema();
    const manual = uniqueSchema();
    try {
      const q = { from: '2026-01-01', to: '2026-01-31' };
      expect(await postgresStore(backend.client, { schema: lazy }).topPages(q)).toEqual([]);
      expect(await tablesOf(lazy)).toEqual(TABLES);
      const err = await postgresStore(backend.client, { schema: manual, autoMigrate: false })
        .topPages(q)
        .catch((e: unknown) => e);
      expect(isAnonError(err, 'store_failed')).toBe(true);
      expect(String((err as Error).message)).toMatch(
        /^\[anon\] \[postgres\] topPages failed: .*does not exist/,
      );
    } finally {
      await backend.client.query(`DROP SCHEMA IF EXISTS "${lazy}" CASCADE`);
    }
  });

  it('migrate creates today’s partition and partitionsAhead more', async () => {
    const f = await freshStore(backend, { partitionsAhead: 3 });
    try {
      const today = new Date().toISOString().slice(0, 10);
      const days = await f.probe.partitionDays();
      // Today in UTC, as the database sees it; the three days after it too.
      expect(days).toContain(today);
      expect(days.filter((d) => d >= today)).toHaveLength(4);
    } finally {
      await f.cleanup();
    }
  });

  it('a schema that is not a plain identifier is refused before any SQL runs', () => {
    for (const schema of ['anon"; DROP SCHEMA public; --', 'Anon', '1abc', 'a-b', '', 'x'.repeat(64)]) {
      let caught: unknown;
      try {
        postgresStore(backend.client, { schema });
      } catch (err) {
        caught = err;
      }
      expect(isAnonError(caught, 'invalid_config'), schema).toBe(true);
    }
  });
});
