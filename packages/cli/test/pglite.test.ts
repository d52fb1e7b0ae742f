import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandSuite, run, traffic } from './support.js';

describe('PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anon-cli-'));
  beforeAll(async () => {
    const db = new PGlite(dir);
    const store = postgresStore(db);
    await store.migrate();
    for (const batch of traffic.batches) await store.write(batch);
    await db.close();
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  commandSuite('PGlite', () => ['--pglite', dir]);
});

describe('anon migrate on a fresh PGlite directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anon-cli-fresh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says which migrations it applied, then that the schema is up to date', async () => {
    const first = await run(['migrate', '--pglite', dir]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^migrated PGlite .+: applied migrations? 1(, \d+)*; schema version \d+$/);
    const again = await run(['migrate', '--pglite', dir]);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toBe(
      `PGlite ${dir} is up to date (schema version ${/schema version (\d+)/.exec(first.out)?.[1]})`,
    );
  }, 120_000);
});
