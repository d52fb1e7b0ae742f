import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViewDraft } from '@anon/core';
import { redisHotStore } from '@anon/redis';
import { fixtureView, type HotStoreHarness } from '@anon/testing';
import { Cluster, Redis } from 'ioredis';

export const REDIS_URL = process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CI = process.env.CI === 'true';

/**
 * Whether the machine's Redis answers. Locally a missing Redis skips the file with a printed reason; under
 * CI=true it fails the run.
 */
export async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (error) {
    const reason = `Redis is not reachable at ${REDIS_URL}: ${error instanceof Error ? error.message : String(error)}`;
    if (CI) throw new Error(`[anon] [redis] ${reason} (CI=true requires it)`);
    console.warn(`[anon] [redis] skipping: ${reason}`);
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A client for tests: reconnects on its own, fails a command after one retry. */
export function connect(): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

/** A key prefix no other test file (or run) uses. */
export function uniquePrefix(name: string): string {
  return `anon-test:${name}:${randomBytes(4).toString('hex')}:`;
}

/** The masters to scan: the client itself, or every master of a Cluster. */
function masters(client: Redis | Cluster): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Every key matching `pattern`, on every master (raw SCAN, bypassing the adapter). */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return [...new Set(found)];
}

/**
 * Keys under `prefix` that have no expiry, but the salts hash: it has none on purpose, so that `volatile-*`
 * eviction can never take a salt (the salt script deletes old salts itself; see hot-store.test.ts).
 */
export async function keysWithoutExpiry(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const keys = (await scanKeys(client, `${escapeGlob(prefix)}*`)).filter((k) => k !== `${prefix}salts`);
  const ttls = await Promise.all(keys.map((k) => client.pttl(k)));
  return keys.filter((_, i) => ttls[i] === -1);
}

/** Session hashes held under `prefix` (live or claimed). */
export async function sessionCount(client: Redis | Cluster, prefix: string): Promise<number> {
  return (await scanKeys(client, `${escapeGlob(prefix)}{b*}:s:*`)).length;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis | Cluster, prefix: string): Promise<void> {
  const keys = await scanKeys(client, `${escapeGlob(prefix)}*`);
  // One DEL per key: on a Cluster the keys live in many slots.
  await Promise.all(keys.map((k) => client.del(k)));
}

/**
 * The hot-store contract's harness on one Redis or Cluster: `main` runs the store under test and the probe;
 * `second` is another app instance (its own connection, the same keys).
 */
export function hotStoreHarness(
  main: Redis | Cluster,
  second: Redis | Cluster,
  prefix: string,
): HotStoreHarness {
  return {
    hot: redisHotStore(main, { prefix }),
    peer: async () => redisHotStore(second, { prefix }),
    probe: {
      sessionCount: () => sessionCount(main, prefix),
      keysWithoutExpiry: () => keysWithoutExpiry(main, prefix),
    },
    cleanup: () => deleteKeys(main, prefix),
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export const T0 = Date.UTC(2026, 0, 15, 12);
export const MINUTE = 60_000;

/** A page view draft with realistic defaults: @anon/testing's fixture view, before a session places it. */
export function view(at: number, overrides: Partial<ViewDraft> = {}): ViewDraft {
  const {
    sessionId: _session,
    seq: _seq,
    visitorKey: _visitor,
    ...draft
  } = fixtureView({ at, ...overrides });
  return draft;
}

export const RULES = Object.freeze({
  sessionTimeoutMs: 30 * MINUTE,
  persistEvery: 5,
  botMaxViewsPerMinute: 60,
  realtimeWindowMs: 5 * MINUTE,
});

/** A free TCP port on loopback whose cluster bus port (+10000) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await listenAndClose(0);
    if (port + 10_000 < 65_536 && (await canListen(port + 10_000))) return port;
  }
}

function listenAndClose(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : port));
    });
  });
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenAndClose(port);
    return true;
  } catch {
    return false;
  }
}

/**
 * A loopback TCP proxy in front of the machine's Redis, which a test can cut (`down()`: close every
 * connection and refuse new ones) and restore (`up()`), to play "Redis is down" without stopping Redis.
 */
export class RedisProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.port = this.port || (await freePort());
    this.#server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.#server?.listen(this.port, '127.0.0.1', resolve));
  }

  /** Redis "goes down": connections are cut and new ones refused. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Redis "comes back" on the same port. */
  up(): Promise<void> {
    return this.start();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
}

/** Whether `redis-server` and `redis-cli` are installed; under CI=true their absence fails the run. */
export function clusterBinariesAvailable(): boolean {
  const ok = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);
  if (!ok) {
    const reason = 'redis-server / redis-cli not found on PATH: the Redis Cluster tests need them';
    if (CI) throw new Error(`[anon] [redis] ${reason} (CI=true requires them)`);
    console.warn(`[anon] [redis] skipping: ${reason}`);
  }
  return ok;
}

/** A three-master Redis Cluster on loopback ports, started for one test file. */
export interface TestCluster {
  ports: number[];
  connect(): Promise<Cluster>;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'anon-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    let port = await freePort();
    while (ports.includes(port)) port = await freePort();
    ports.push(port);
  }
  const stop = async (): Promise<void> => {
    for (const port of ports)
      spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'shutdown', 'nosave']);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const result = spawnSync('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'yes',
        '--logfile',
        join(dir, `redis-${port}.log`),
      ]);
      if (result.status !== 0)
        throw new Error(`redis-server on port ${port} failed: ${result.stderr.toString()}`);
    }
    for (const port of ports) await waitForPing(port);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitForClusterOk(ports[0] as number);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    async connect() {
      const cluster = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { redisOptions: { maxRetriesPerRequest: 1 } },
      );
      cluster.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        cluster.once('ready', () => resolve());
        cluster.once('end', () => reject(new Error('cluster connection ended')));
      });
      return cluster;
    },
    stop,
  };
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'])
        .stdout?.toString()
        .includes('PONG')
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

async function waitForClusterOk(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info =
      spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info']).stdout?.toString() ??
      '';
    if (info.includes('cluster_state:ok')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the test cluster never reached cluster_state:ok');
}
