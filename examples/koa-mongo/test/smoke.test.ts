import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, start } from '../src/app.js';

const MONGO_URL = process.env.ANON_MONGO_URL;
const BROWSER = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const ALL_DAYS = { from: '2000-01-01', to: '2999-12-31' };

// MongoDB is opt-in: this example runs wherever ANON_MONGO_URL points at a server (a set URL that cannot be
// reached fails the test; an unset one skips it).
if (MONGO_URL === undefined || MONGO_URL === '') {
  console.warn('[example] [koa-mongo] skipping the smoke test: ANON_MONGO_URL is not set');
}

describe.skipIf(MONGO_URL === undefined || MONGO_URL === '')('koa-mongo example', () => {
  const collectionPrefix = `anon_example_${randomBytes(4).toString('hex')}_`;
  let running: RunningExample;

  beforeAll(async () => {
    running = await start({ port: 0, mongoUrl: MONGO_URL as string, collectionPrefix });
  });

  afterAll(async () => {
    if (running === undefined) return;
    const db = running.client.db();
    for (const name of Object.values(running.store.collections))
      await db.dropCollection(name).catch(() => {});
    await running.close();
  });

  it('a browser visit over HTTP shows in the top pages, under its route pattern', async () => {
    for (const path of ['/', '/posts/2']) {
      const response = await fetch(`${running.url}${path}`, { headers: BROWSER });
      expect(response.status).toBe(200);
      await response.text();
    }
    await running.tracker.flush();
    const top = await running.store.topPages(ALL_DAYS);
    expect(top.map((r) => [r.path, r.views]).sort()).toEqual([
      ['/', 1],
      ['/posts/:id', 1],
    ]);
  });

  it('a sign-up converts the visitor, and the stats page shows it all', async () => {
    const signup = await fetch(`${running.url}/signup`, {
      method: 'POST',
      headers: BROWSER,
      redirect: 'manual',
    });
    expect(signup.status).toBe(303);
    await running.tracker.flush();
    expect((await running.store.conversions(ALL_DAYS)).signups).toBe(1);
    const html = await (await fetch(`${running.url}/stats`, { headers: BROWSER })).text();
    expect(html).toContain('<td>/posts/:id</td><td>1</td>');
    expect(html).toContain('1 sign-up(s)');
  });
});
