import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTracker } from '@anon/core';
import { postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
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

describe('anon erase and anon dashboard on PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anon-cli-erase-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('erase --user deletes that user’s sessions and page views and says how many; others stay', async () => {
    const db = new PGlite(dir);
    const store = postgresStore(db);
    await store.migrate();
    const tracker = createTracker({ store, sweeper: false });
    const visit = (path: string, ip: string, userId: string | null) =>
      tracker.track({
        method: 'GET',
        url: path,
        status: 200,
        ip,
        userId,
        headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
      });
    visit('/a', '198.51.100.1', 'member-1');
    visit('/b', '198.51.100.1', 'member-1');
    visit('/a', '198.51.100.2', 'member-2');
    await tracker.close();
    await db.close();

    const erased = await run(['erase', '--user', 'member-1', '--pglite', dir, '--json']);
    expect(erased.code, erased.err).toBe(0);
    expect(JSON.parse(erased.out)).toMatchObject({ user: 'member-1', sessions: 1, pageViews: 2 });

    const check = new PGlite(dir);
    const rows = await check.query<{ user_id: string }>('SELECT user_id FROM anon.page_views');
    expect(rows.rows.map((r) => r.user_id)).toEqual(['member-2']);
    await check.close();

    expect((await run(['erase', '--pglite', dir])).code).toBe(2);
  }, 120_000);

  it('dashboard serves the store’s dashboard on loopback until stopped', async () => {
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const out: string[] = [];
    const running = main(['dashboard', '--port', '0', '--pglite', dir], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      env: {},
      stopSignal: stopped,
    });
    let url: string | undefined;
    for (let i = 0; i < 200 && url === undefined; i++) {
      url = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out.join('\n'))?.[1];
      if (url === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, out.join('\n')).toBeDefined();
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    stop();
    expect(await running).toBe(0);
  }, 120_000);
});
