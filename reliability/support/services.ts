import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import type { Pool } from 'pg';
import { ioredis, pg } from './deps.js';

export const PG_URL = process.env.ANON_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CI = process.env.CI === 'true';

/** A short id unique to this run: schemas, prefixes and streams carry it, so runs never share state. */
export const RUN_ID = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

/**
 * Whether a service the scenario needs is there. Under CI=true a missing one fails the run; locally the
 * scenario is skipped with the reason printed.
 */
export function required(service: string, reason: string | null): boolean {
  if (reason === null) return true;
  const line = `${service} unavailable: ${reason}`;
  if (CI) throw new Error(`[reliability] ${line} (CI=true requires it)`);
  console.warn(`[reliability] skipping: ${line}`);
  return false;
}

/** A loopback TCP port nobody listens on right now. */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Why `redis-server` cannot be started here, or null. */
export function redisServerMissing(): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.once('error', (error) => resolve(`redis-server is not on PATH (${error.message})`));
    child.once('exit', (code) => resolve(code === 0 ? null : `redis-server --version exited ${code}`));
  });
}

/**
 * A `redis-server` of the suite's own, on a spare loopback port, with no persistence: `kill()` is a real
 * SIGKILL and `start()` after it brings back an empty server on the same port.
 */
export class OwnRedis {
  readonly port: number;
  #child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<OwnRedis> {
    const own = new OwnRedis(await sparePort());
    await own.start();
    return own;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = this.client({ retryStrategy: () => null, lazyConnect: true });
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start: ${error}`);
        await sleep(50);
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGKILL: no shutdown, no save; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  /** A client for the scenario itself (FLUSHALL, SCAN, XPENDING): it waits for the connection. */
  admin(): Redis {
    return this.client({ enableOfflineQueue: true });
  }

  /**
   * A client as an app would configure it for fail-fast tracking: no offline queue, one retry, and a quick
   * reconnect so the suite does not wait seconds after a restart.
   */
  client(extra: RedisOptions = {}): Redis {
    const client = new ioredis.Redis({
      host: '127.0.0.1',
      port: this.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1_000,
      retryStrategy: () => 100,
      ...extra,
    });
    client.on('error', () => undefined);
    return client;
  }
}

/** Why Postgres cannot be reached at PG_URL, or null. */
export async function postgresMissing(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `Postgres is not reachable at ${PG_URL}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh schema name for one scenario of this run (lower-case letters, digits and `_`, as the store wants). */
export function freshSchema(scenario: string): string {
  return `rel_${scenario.replace(/[^a-z0-9]/g, '_')}_${RUN_ID}`;
}

/** A pool to `url` (Postgres itself or the suite's proxy in front of it) whose errors never crash the test. */
export function pool(url = PG_URL, max = 4): Pool {
  const p = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3_000 });
  p.on('error', () => undefined);
  return p;
}

/** Drops a scenario's schema (the suite leaves the database as it found it). */
export async function dropSchema(schema: string): Promise<void> {
  const p = pool();
  try {
    await p.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await p.end();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the last answer. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
