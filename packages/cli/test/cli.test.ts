import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@anon/cli';
import { createTracker } from '@anon/core';
import { postgresStore } from '@anon/postgres';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import { generateTraffic } from '@anon/testing';
import { PGlite } from '@electric-sql/pglite';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const traffic = generateTraffic({ seed: 7, visitors: 30, days: 2 });
const range = ['--from', traffic.from, '--to', traffic.to];

/** Run the CLI in-process and capture what it prints. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}, stopSignal?: Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env,
    ...(stopSignal ? { stopSignal } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const REPORT_SHAPES: [string, string[], (json: unknown) => void][] = [
  ['pages', [], (j) => expect((j as { path: string }[])[0]).toHaveProperty('uniqueVisitors')],
  ['sessions', [], (j) => expect(j).toHaveProperty('bounceRate')],
  ['conversions', [], (j) => expect(j).toHaveProperty('conversionRate')],
  ['funnel', ['/', '/posts/*'], (j) => expect((j as unknown[]).length).toBe(2)],
  ['journeys', [], (j) => expect((j as { steps: string[] }[])[0]?.steps.length).toBeGreaterThan(0)],
  ['referrers', [], (j) => expect(Array.isArray(j)).toBe(true)],
  ['campaigns', [], (j) => expect(Array.isArray(j)).toBe(true)],
  ['devices', [], (j) => expect(j).toHaveProperty('browsers')],
  ['bots', [], (j) => expect((j as { views: number }).views).toBeGreaterThan(0)],
];

function commandSuite(label: string, flags: () => string[], env: () => NodeJS.ProcessEnv = () => ({})) {
  describe(`anon CLI on ${label}`, () => {
    it('migrate applies migrations and is a no-op the second time', async () => {
      const first = await run(['migrate', ...flags()], env());
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(/^migrated /);
      expect((await run(['migrate', ...flags()], env())).code).toBe(0);
    });

    for (const [name, steps, check] of REPORT_SHAPES) {
      it(`report ${name} prints a table, and JSON with --json`, async () => {
        const text = await run(['report', name, ...steps, ...range, ...flags()], env());
        expect(text.code, text.err).toBe(0);
        expect(text.out.split('\n')[0]).toBe(`${name} · ${traffic.from} → ${traffic.to}`);
        expect(text.out).toMatch(/─{3,}/);
        const json = await run(['report', name, ...steps, ...range, '--json', ...flags()], env());
        expect(json.code, json.err).toBe(0);
        check(JSON.parse(json.out));
      });
    }

    it('report pages agrees with the brute-force truth', async () => {
      const json = await run(['report', 'pages', ...range, '--limit', '100', '--json', ...flags()], env());
      const expected = traffic.truth.topPages({ from: traffic.from, to: traffic.to, limit: 100 });
      expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(expected)));
    });

    it('purge --dry-run counts without removing, then purge removes the same', async () => {
      const dry = await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env());
      expect(dry.code, dry.err).toBe(0);
      const planned = JSON.parse(dry.out);
      expect(planned.dryRun).toBe(true);
      expect(planned.sessions).toBeGreaterThan(0);
      const again = JSON.parse(
        (await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env())).out,
      );
      expect(again.sessions).toBe(planned.sessions);
      const real = await run(['purge', '--older-than', '1d', ...flags()], env());
      expect(real.code, real.err).toBe(0);
      expect(real.out).toContain(`removed ${planned.sessions} sessions, ${planned.pageViews} page views`);
      const after = JSON.parse(
        (await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env())).out,
      );
      expect(after.sessions).toBe(0);
    });
  });
}

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
    expect(JSON.parse(realtime.out).activeVisitors).toBe(2);

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

describe('usage errors exit 2 and failures exit 1, without stack traces', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['report'], /report needs a name/],
    [['report', 'nope', '--pglite', ':memory:'], /unknown report "nope"/],
    [['report', 'pages', '--from', '2026-13-45', '--pglite', ':memory:'], /--from takes a day/],
    [['report', 'pages', '--to', '2026-11-31', '--pglite', ':memory:'], /--to takes a day/],
    [['report', 'pages', '--from', '2026-02-02', '--to', '2026-01-01', '--pglite', ':memory:'], /is after/],
    [['report', 'pages', '--limit', '0', '--pglite', ':memory:'], /--limit/],
    [['report', 'funnel', '--pglite', ':memory:'], /funnel takes its steps/],
    [['report', 'pages', '--bogus'], /bogus/],
    [['purge', '--pglite', ':memory:'], /--older-than/],
    [['purge', '--older-than', 'ninety days', '--pglite', ':memory:'], /duration/],
    [['migrate'], /no store configured/],
    [['report', 'realtime', '--pglite', ':memory:'], /needs Redis/],
  ])('anon %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('--help');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an unreachable database exits 1 and says what to check', async () => {
    const r = await run(['migrate', '--pg-url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/test/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an unreachable Redis exits 1', async () => {
    const r = await run(['report', 'realtime', '--pglite', ':memory:', '--redis-url', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not reach Redis/);
  });

  it.each([
    ['--help'],
    ['migrate', '--help'],
    ['report', '--help'],
    ['worker', '--help'],
    ['purge', '--help'],
    ['demo', '--help'],
  ])('anon %j prints usage and exits 0', async (...args) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: anon/);
  });
});

describe('anon demo', () => {
  it('drives traffic through the demo app over HTTP and prints every report, exit 0', async () => {
    const r = await run(['demo', '--visitors', '40', '--seed', '3']);
    expect(r.code, r.err).toBe(0);
    for (const title of [
      'Top pages',
      'Sessions',
      'Conversions',
      'Funnel',
      'Top journeys',
      'Referrers',
      'Devices',
      'Bots, kept apart',
    ]) {
      expect(r.out).toContain(`■ ${title}`);
    }
    const tracked = Number(/(\d+) page views tracked, (\d+) by bots/.exec(r.out)?.[1]);
    expect(tracked).toBeGreaterThan(40);
    expect(r.out).toMatch(/0 dropped, 0 failures/);
  }, 120_000);

  it('the same seed drives the same traffic', async () => {
    const a = await run(['demo', '--visitors', '15', '--seed', '9']);
    const b = await run(['demo', '--visitors', '15', '--seed', '9']);
    const strip = (s: string) => s.replace(/http:\/\/127\.0\.0\.1:\d+/g, '').replace(/· [\d.]+s$/m, '');
    expect(strip(a.out)).toBe(strip(b.out));
  }, 120_000);
});
