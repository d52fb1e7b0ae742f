import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './support.js';

const LATEST = MIGRATIONS.at(-1)?.version ?? 0;
const range = ['--from', '2026-01-01', '--to', '2026-01-02'];

/** Every command that must not create anything, with its arguments. */
const READERS: [string, string[]][] = [
  ['report pages', ['report', 'pages', ...range]],
  ['report funnel', ['report', 'funnel', '/', '/signup', ...range]],
  ['purge --dry-run', ['purge', '--older-than', '90d', '--dry-run']],
  ['purge', ['purge', '--older-than', '90d']],
  ['erase', ['erase', '--user', 'someone']],
  ['dashboard', ['dashboard', '--port', '0']],
];

const pgUrl = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pool = new pg.Pool({ connectionString: pgUrl, connectionTimeoutMillis: 2_000 });
pool.on('error', () => undefined);
const pgReachable = await pool.query('SELECT 1').then(
  () => true,
  (err: unknown) => {
    if (process.env.CI === 'true') throw new Error(`CI=true but Postgres is unreachable at ${pgUrl}: ${err}`);
    console.warn(`[cli] skipping the read-only Postgres tests: ${pgUrl} is unreachable (${err})`);
    return false;
  },
);
afterAll(() => pool.end());

const schemaExists = async (name: string) =>
  (await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rowCount === 1;

describe.skipIf(!pgReachable)('read-only commands on Postgres never create a schema', () => {
  const typo = `anon_cli_typo_${process.pid}`;
  const old = `anon_cli_old_${process.pid}`;
  const bare = `anon_cli_bare_${process.pid}`;
  const env = { ANON_PG_URL: pgUrl };
  beforeAll(async () => {
    await postgresStore(pool, { schema: old }).migrate();
    await pool.query(`DELETE FROM "${old}".schema_migrations WHERE version = $1`, [LATEST]);
    await pool.query(`CREATE SCHEMA "${bare}"`);
  }, 60_000);
  afterAll(async () => {
    for (const s of [typo, old, bare]) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });

  it.each(READERS)(
    'anon %s --schema <typo> says the schema is missing, exits 1, creates nothing',
    async (_, args) => {
      const r = await run([...args, '--schema', typo], env);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `anon: the schema "${typo}" does not exist in Postgres ${pgUrl}: 'anon migrate' (with the same store flags) ` +
          'creates it; check --schema / ANON_PG_SCHEMA',
      );
      expect(await schemaExists(typo)).toBe(false);
    },
  );

  it('a schema without the tables, or older than the package, is refused with what to run', async () => {
    const empty = await run(['report', 'pages', ...range, '--schema', bare], env);
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/schema "anon_cli_bare_\d+" .* has no anon tables: 'anon migrate'/);
    const older = await run(['report', 'pages', ...range, '--schema', old], env);
    expect(older.code).toBe(1);
    expect(older.err).toContain(`is at version ${LATEST - 1}, this @anon/postgres needs ${LATEST}`);
    const tables = await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [bare]);
    expect(tables.rows[0].n).toBe(0);
  });

  it('anon migrate creates the schema; the same report then runs', async () => {
    const migrate = await run(['migrate', '--schema', typo], env);
    expect(migrate.code, migrate.err).toBe(0);
    const report = await run(['report', 'pages', ...range, '--schema', typo], env);
    expect(report.code, report.err).toBe(0);
  }, 60_000);
});

describe('read-only commands on PGlite never create a database or a schema', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'anon-cli-readonly-'));
  const dir = join(scratch, 'db');
  beforeAll(async () => {
    const db = new PGlite(dir);
    await postgresStore(db).migrate();
    await db.close();
  }, 60_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(READERS)(
    'anon %s --pglite <a folder with no database> exits 1 and creates no folder',
    async (_, args) => {
      const missing = join(scratch, 'nothing-here');
      const r = await run([...args, '--pglite', missing]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `anon: there is no PGlite database in ${missing}: 'anon migrate --pglite ${missing}' creates one`,
      );
      expect(existsSync(missing)).toBe(false);
    },
  );

  it('anon report --schema <typo> on a PGlite database creates no schema', async () => {
    const r = await run(['report', 'pages', ...range, '--pglite', dir, '--schema', 'typo']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/schema "typo" does not exist in PGlite /);
    const db = new PGlite(dir);
    const found = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'typo'`);
    await db.close();
    expect(found.rows).toEqual([]);
  }, 60_000);

  it('a PGlite folder open in this process is refused, and stays usable; once closed the command runs', async () => {
    const db = new PGlite(dir);
    const store = postgresStore(db);
    await store.migrate();
    const refused = await run(['report', 'pages', ...range, '--pglite', dir]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^anon: \[postgres\] the PGlite folder .* is already open in this process/);
    expect(await store.topPages({ from: '2026-01-01', to: '2026-01-02' })).toEqual([]);
    await db.close();
    const after = await run(['report', 'pages', ...range, '--pglite', dir]);
    expect(after.code, after.err).toBe(0);
  }, 60_000);
});
