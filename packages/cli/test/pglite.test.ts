import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe } from 'vitest';
import { commandSuite, traffic } from './support.js';

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
