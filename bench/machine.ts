import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { connectPostgres, connectRedis } from './services.js';

/** What the figures were measured on. */
export interface MachineInfo {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string | null;
  postgres: string | null;
  /** Versions of the libraries in the measured path, as installed. */
  libraries: Record<string, string>;
  commit: string | null;
}

const require = createRequire(import.meta.url);

/** The installed version of `name` as the bench resolves it, or `?`. */
function versionOf(name: string): string {
  try {
    // Some packages do not export their package.json: walk up from the entry point instead.
    let dir = require.resolve(name);
    for (let i = 0; i < 6; i++) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      try {
        const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name && pkg.version !== undefined) return pkg.version;
      } catch {
        // not this directory
      }
    }
  } catch {
    // not installed
  }
  return '?';
}

/** Reads the machine, the servers' versions and the commit under test. */
export async function machineInfo(): Promise<MachineInfo> {
  let redis: string | null = null;
  const r = await connectRedis();
  if (r.ok) {
    const info = await r.value.info('server');
    redis = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    r.value.disconnect();
  }
  let postgres: string | null = null;
  const p = await connectPostgres(1);
  if (p.ok) {
    const { rows } = await p.value.query<{ server_version: string }>('SHOW server_version');
    postgres = rows[0]?.server_version ?? '?';
    await p.value.end();
  }
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? '?',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis,
    postgres,
    libraries: Object.fromEntries(
      [
        'express',
        'koa',
        'fastify',
        'hono',
        '@hono/node-server',
        'ioredis',
        'pg',
        '@electric-sql/pglite',
        'autocannon',
        'tinybench',
      ].map((name) => [name, versionOf(name)]),
    ),
    commit,
  };
}
