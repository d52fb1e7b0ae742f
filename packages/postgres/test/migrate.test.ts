import { type AnonEvent, isAnonError } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, postgresStore } from '../src/index.js';
import { backends, freshStore, uniqueSchema } from './backends.js';
import { batch, DAY_MS, dayOf, ev, MIN, T0, visit } from './fixtures.js';
import { storeProbe } from './probe.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

const TABLES = [
  'batches',
  'bot_sessions',
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

  /**
   * A schema as an older release left it: the migrations up to `version` only, holding what `events` wrote.
   * The rows are written by this release into a scratch schema and copied over, each table keeping the columns
   * it had at `version`, partitions included.
   */
  async function olderSchema(version: number, events: AnonEvent[]): Promise<string> {
    const scratch = await freshStore(backend);
    const schema = uniqueSchema();
    const quoted = `"${schema}"`;
    const q = (sql: string, params?: unknown[]) => backend.client.query(sql, params);
    try {
      await scratch.store.write(batch(events));
      await q(`CREATE SCHEMA ${quoted}`);
      await q(
        `CREATE TABLE ${quoted}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
        for (const statement of m.statements(quoted)) await q(statement);
        await q(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      }
      for (const table of ['page_views', 'page_metrics', 'page_visitors']) {
        for (const day of await scratch.probe.partitionDays(table)) {
          const next = dayOf(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
          await q(
            `CREATE TABLE ${quoted}.${table}_p${day.replaceAll('-', '')} PARTITION OF ${quoted}.${table}
             FOR VALUES FROM ('${day}') TO ('${next}')`,
          );
        }
      }
      for (const table of await tablesOf(schema)) {
        if (table === 'schema_migrations') continue;
        const columns = (
          await q(
            `SELECT column_name AS name FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
            [schema, table],
          )
        ).rows.map((r) => `"${(r as { name: string }).name}"`);
        await q(
          `INSERT INTO ${quoted}.${table} (${columns.join(', ')})
           SELECT ${columns.join(', ')} FROM "${scratch.schema}".${table}`,
        );
      }
      return schema;
    } finally {
      await scratch.cleanup();
    }
  }

  it('a schema at version 1 with data upgrades to the rollup tables, and a purge then folds its sessions', async () => {
    const old = visit('old-anon', ['/', '/a'], { start: T0 - 100 * DAY_MS });
    const schema = await olderSchema(1, [...old.views.map(ev.view), ev.session(old.session)]);
    try {
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

  it('a schema at version 2 upgrades to bot sessions: bot views split by login and the human views behind each unique visitor filled in from the stored page views', async () => {
    const reader = visit('reader', ['/', '/a', '/', '/'], { userId: 'u-1' });
    const crawler = visit('crawler', ['/', '/a', '/a'], { isBot: true, start: T0 + MIN });
    const loggedCrawler = visit('crawler-2', ['/a'], { isBot: true, userId: 'u-2', start: T0 + 2 * MIN });
    const visits = [reader, crawler, loggedCrawler];
    const views = visits.flatMap((v) => v.views);
    const schema = await olderSchema(2, [...views.map(ev.view), ...visits.map((v) => ev.session(v.session))]);
    try {
      const store = postgresStore(backend.client, { schema });
      expect(await store.migrate()).toEqual({
        applied: MIGRATIONS.slice(2).map((m) => m.version),
        version: MIGRATIONS.at(-1)!.version,
      });
      const probe = storeProbe(backend.client, schema);
      expect(await probe.aggregates()).toEqual(recomputeAggregates(views, []));
      expect((await probe.aggregates()).find((r) => r.path === '/a')).toMatchObject({
        views: 1,
        botViews: 3,
        botAuthenticatedViews: 1,
      });
      expect(
        await probe.rows(`SELECT path, visitor_key, views FROM "${schema}".page_visitors ORDER BY path`),
      ).toEqual([
        { path: '/', visitor_key: 'key-reader', views: 3 },
        { path: '/a', visitor_key: 'key-reader', views: 1 },
      ]);
      // Flagging the reader's session now moves exactly its three views of / and its view of /a.
      await store.write(
        batch([
          {
            type: 'botsession',
            id: 'reader:bot',
            botSession: { sessionId: 'reader', day: reader.session.day, at: T0 },
          },
        ]),
      );
      const flagged = views.map((v) =>
        v.sessionId === 'reader' ? { ...v, isBot: true, botReasons: ['rate' as const] } : v,
      );
      expect(await probe.aggregates()).toEqual(recomputeAggregates(flagged, []));
      expect(await probe.rows(`SELECT 1 FROM "${schema}".page_visitors`)).toEqual([]);
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
