import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, start } from '../src/app.js';

const REDIS_URL = process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const ALL_DAYS = { from: '2000-01-01', to: '2999-12-31' };

/** Why the servers this example needs cannot be used, or null when both answer. */
async function unreachable(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return `Redis is not reachable at ${REDIS_URL}: ${(error as Error).message}`;
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (error) {
    return `PostgreSQL is not reachable at ${PG_URL}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
  return null;
}

const missing = await unreachable();
if (missing !== null) {
  if (process.env.CI === 'true')
    throw new Error(`[example] [express-postgres] ${missing} (CI=true requires it)`);
  console.warn(`[example] [express-postgres] skipping the smoke test: ${missing}`);
}

describe.skipIf(missing !== null)('express-postgres example', () => {
  const id = randomBytes(4).toString('hex');
  const schema = `anon_example_express_${id}`;
  const redisPrefix = `anon-example:express:${id}:`;
  let running: RunningExample;

  beforeAll(async () => {
    running = await start({ port: 0, redisUrl: REDIS_URL, pgUrl: PG_URL, schema, redisPrefix });
  });

  afterAll(async () => {
    await running?.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('a browser visit over HTTP shows in the top pages, under its route pattern', async () => {
    const home = await fetch(`${running.url}/`, { headers: BROWSER });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('data-view="');
    const post = await fetch(`${running.url}/posts/2`, { headers: BROWSER });
    expect(post.status).toBe(200);
    await post.text();

    await running.tracker.flush();
    const top = await running.store.topPages(ALL_DAYS);
    expect(top.map((r) => [r.path, r.views, r.anonymousViews]).sort()).toEqual([
      ['/', 1, 1],
      ['/posts/:id', 1, 1],
    ]);
    expect((await running.store.sessions(ALL_DAYS)).sessions).toBe(1);
    expect(await running.tracker.activeVisitors()).toMatchObject({ total: 1 });
  });

  it('a sign-up converts the visitor, and the stats page shows it all', async () => {
    const signup = await fetch(`${running.url}/signup`, {
      method: 'POST',
      headers: BROWSER,
      redirect: 'manual',
    });
    expect(signup.status).toBe(303);
    expect(signup.headers.get('set-cookie')).toMatch(/^demo_user=user-[0-9a-f]{8}/);
    await running.tracker.flush();
    const report = await running.store.conversions(ALL_DAYS);
    expect(report.signups).toBe(1);
    expect(report.byLandingPage).toEqual([{ path: '/', conversions: 1 }]);

    const stats = await fetch(`${running.url}/stats`, { headers: BROWSER });
    const html = await stats.text();
    expect(html).toContain('<td>/posts/:id</td><td>1</td>');
    expect(html).toContain('1 sign-up(s)');
    // The stats page is excluded from tracking: still two pages.
    await running.tracker.flush();
    expect((await running.store.topPages(ALL_DAYS)).length).toBe(2);
  });
});
