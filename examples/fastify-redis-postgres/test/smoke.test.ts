import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@anon/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../src/config.js';
import { type RunningServer, startServer } from '../src/server.js';

const REDIS_URL = process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
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
    throw new Error(`[example] [fastify-redis-postgres] ${missing} (CI=true requires it)`);
  console.warn(`[example] [fastify-redis-postgres] skipping the smoke test: ${missing}`);
}

describe.skipIf(missing !== null)('fastify-redis-postgres example', () => {
  const id = randomBytes(4).toString('hex');
  const prefix = `anon-example:fastify:${id}:`;
  const settings: Settings = {
    redisUrl: REDIS_URL,
    pgUrl: PG_URL,
    schema: `anon_example_fastify_${id}`,
    redisPrefix: prefix,
    stream: `${prefix}events`,
  };
  let a: RunningServer;
  let b: RunningServer;
  let worker: ChildProcess;
  let workerOutput = '';

  beforeAll(async () => {
    // The worker runs as its own process, exactly as `pnpm worker` starts it.
    worker = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../src/run-worker.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          ANON_REDIS_URL: settings.redisUrl,
          ANON_PG_URL: settings.pgUrl,
          ANON_PG_SCHEMA: settings.schema,
          ANON_REDIS_PREFIX: settings.redisPrefix,
          ANON_STREAM: settings.stream,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker.stdout?.on('data', (chunk) => {
      workerOutput += String(chunk);
    });
    worker.stderr?.on('data', (chunk) => {
      workerOutput += String(chunk);
    });
    [a, b] = await Promise.all([startServer(settings, 0), startServer(settings, 0)]);
    const ready = await waitFor(() => workerOutput.includes('worker: ready'), 30_000, 50);
    expect(ready, workerOutput).toBe(true);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (worker !== undefined && worker.exitCode === null) {
      const exited = once(worker, 'exit');
      worker.kill('SIGTERM');
      // A clean stop: the worker finished its batch, closed its connections and exited 0.
      expect((await exited)[0], workerOutput).toBe(0);
    }
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${settings.schema}" CASCADE`);
    await client.end();
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('views on two instances reach PostgreSQL through the worker process, as one session', async () => {
    const home = await fetch(`${a.url}/`, { headers: BROWSER });
    expect(home.status).toBe(200);
    await home.text();
    const post = await fetch(`${b.url}/posts/1`, { headers: BROWSER });
    expect(post.status).toBe(200);
    await post.text();
    // Everything the instances tracked is in the stream; the worker writes it in its own time.
    await Promise.all([a.tracker.flush(), b.tracker.flush()]);

    const written = await waitFor(async () => (await a.store.topPages(ALL_DAYS)).length === 2, 20_000, 100);
    expect(written, workerOutput).toBe(true);
    const top = await a.store.topPages(ALL_DAYS);
    expect(top.map((r) => [r.path, r.views, r.anonymousViews]).sort()).toEqual([
      ['/', 1, 1],
      ['/posts/:id', 1, 1],
    ]);
    // One hot store for both instances: the second view continued the session the first one started.
    expect((await a.store.sessions(ALL_DAYS)).sessions).toBe(1);
    expect(await b.tracker.activeVisitors()).toMatchObject({ total: 1 });
  });

  it('a sign-up from a browser form converts the visitor', async () => {
    const signup = await fetch(`${b.url}/signup`, {
      method: 'POST',
      headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(signup.status).toBe(303);
    expect(signup.headers.get('location')).toBe('/welcome');
    const converted = await waitFor(
      async () => (await a.store.conversions(ALL_DAYS)).signups === 1,
      20_000,
      100,
    );
    expect(converted, workerOutput).toBe(true);
    expect((await a.store.conversions(ALL_DAYS)).byLandingPage).toEqual([{ path: '/', conversions: 1 }]);
    const html = await (await fetch(`${a.url}/stats`, { headers: BROWSER })).text();
    expect(html).toContain('1 sign-up(s)');
  });
});
