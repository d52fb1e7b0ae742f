import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@anon/cli';
import { createTracker } from '@anon/core';
import { postgresStore } from '@anon/postgres';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import { PGlite } from '@electric-sql/pglite';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandSuite, run, traffic } from './support.js';

const pgUrl = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `anon_cli_${process.pid}`;
const pgReachable = await (async () => {
  const pool = new pg.Pool({ connectionString: pgUrl, connectionTimeoutMillis: 2_000 });
  try {
    await pool.query('SELECT 1');
    return true;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but Postgres is unreachable at ${pgUrl}: ${err}`);
    console.warn(`[cli] skipping the Postgres CLI tests: ${pgUrl} is unreachable (${err})`);
    return false;
  } finally {
    await pool.end();
  }
})();

describe.skipIf(!pgReachable)('Postgres', () => {
  const pool = new pg.Pool({ connectionString: pgUrl });
  beforeAll(async () => {
    const store = postgresStore(pool, { schema });
    await store.migrate();
    for (const batch of traffic.batches) await store.write(batch);
  }, 120_000);
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });
  commandSuite(
    'PostgreSQL',
    () => ['--schema', schema],
    () => ({ ANON_PG_URL: pgUrl }),
  );
});

const redisUrl = process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisReachable = await (async () => {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but Redis is unreachable at ${redisUrl}: ${err}`);
    console.warn(`[cli] skipping the worker and realtime tests: ${redisUrl} is unreachable (${err})`);
    return false;
  } finally {
    client.disconnect();
  }
})();

describe.skipIf(!redisReachable)('worker and realtime on Redis', () => {
  const prefix = `anon-cli-${process.pid}:`;
  const dir = mkdtempSync(join(tmpdir(), 'anon-cli-worker-'));
  const client = new Redis(redisUrl);
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('report realtime counts active visitors; anon worker drains the queue into the store and stops on SIGTERM', async () => {
    const producer = createTracker({
      hot: redisHotStore(client, { prefix }),
      queue: redisStreamQueue(client, { stream: `${prefix}events` }),
      worker: false,
      sweeper: false,
    });
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
    for (const [ip, path] of [
      ['100.64.0.1', '/'],
      ['100.64.0.1', '/posts/1'],
      ['100.64.0.2', '/'],
    ] as const) {
      producer.track({
        method: 'GET',
        url: path,
        status: 200,
        ip,
        headers: { 'user-agent': ua, accept: 'text/html' },
      });
    }
    await producer.close();
    const flags = ['--redis-url', redisUrl, '--redis-prefix', prefix, '--pglite', dir];

    const realtime = await run(['report', 'realtime', '--json', ...flags]);
    expect(realtime.code, realtime.err).toBe(0);
    expect(JSON.parse(realtime.out).activeVisitors).toEqual({ total: 2, authenticated: 0, anonymous: 2 });

    const lines: string[] = [];
    let stop = () => {};
    const stopSignal = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const running = main(['worker', '--interval', '100ms', ...flags], {
      out: (t) => lines.push(t),
      err: (t) => lines.push(t),
      env: {},
      stopSignal,
    });
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => /worker: [1-9]\d* events written/.test(l)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop();
    expect(await running).toBe(0);
    expect(lines.at(-1)).toMatch(/worker: stopped after \d+ events written/);

    const db = new PGlite(dir);
    const pages = await postgresStore(db).topPages({ from: '2000-01-01', to: '2100-01-01' });
    await db.close();
    expect(pages.map((p) => [p.path, p.views])).toEqual([
      ['/', 2],
      ['/posts/1', 1],
    ]);
  });
});
