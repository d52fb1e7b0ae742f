import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { masker, redactText, redactUrl, secretsOf } from '../src/secrets.js';
import { run } from './support.js';

describe('a URL is printed without its password', () => {
  it.each([
    ['redis://:hunter2@10.0.0.5:6379', 'redis://:***@10.0.0.5:6379'],
    ['rediss://default:p%40ss@cache.internal:6380/2', 'rediss://default:***@cache.internal:6380/2'],
    ['postgres://app:s3cr3t@db:5432/anon', 'postgres://app:***@db:5432/anon'],
    [
      'postgres://app@db/anon?sslmode=require&password=s3cr3t',
      'postgres://app@db/anon?sslmode=require&password=***',
    ],
    ['redis://127.0.0.1:6379?password=s3cr3t&db=2', 'redis://127.0.0.1:6379?password=***&db=2'],
    ['postgres://u:pa@ss:w/rd@db/x', 'postgres://u:***@db/x'],
    ['redis://:my pass@host', 'redis://:***@host'],
    [
      'mongodb://u:pw@h1:27017,h2:27017/db?authSource=admin',
      'mongodb://u:***@h1:27017,h2:27017/db?authSource=admin',
    ],
    ['postgres//u:typo-secret@host', 'postgres//u:***@host'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['postgres://postgres@127.0.0.1:1/test', 'postgres://postgres@127.0.0.1:1/test'],
    ['not a url', 'not a url'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('any URL in free text (a driver error) loses its password', () => {
    expect(redactText('connect to redis://:pw@a:1 failed; postgres://u:p@b/c too')).toBe(
      'connect to redis://:***@a:1 failed; postgres://u:***@b/c too',
    );
  });

  const scheme = fc.constantFrom('redis', 'rediss', 'postgres', 'postgresql', 'mongodb', 'mongodb+srv');
  const user = fc.stringMatching(/^[a-z0-9_]{0,8}$/);
  const password = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });

  it('property: the password-only and user:password forms, raw or percent-encoded, never show the password', () => {
    fc.assert(
      fc.property(scheme, user, password, fc.boolean(), (s, u, pw, encode) => {
        const written = encode ? encodeURIComponent(pw) : pw;
        const url = `${s}://${u}:${written}@db.internal:5432/app`;
        expect(redactUrl(url)).toBe(`${s}://${u}:***@db.internal:5432/app`);
      }),
    );
  });

  it('property: a message quoting the password of a URL from the flags or the environment shows it masked', () => {
    fc.assert(
      fc.property(
        scheme,
        password.filter((pw) => pw.trim().length >= 4 && !pw.includes('*')),
        fc.boolean(),
        (s, pw, fromEnv) => {
          const url = `${s}://:${encodeURIComponent(pw)}@db.internal:1/app`;
          const mask = fromEnv
            ? masker(secretsOf(['worker'], { ANON_REDIS_URL: url }))
            : masker(secretsOf(['worker', `--redis-url=${url}`], {}));
          const printed = mask(`could not reach ${url}: auth failed for "${pw}" (${encodeURIComponent(pw)})`);
          expect(printed).not.toContain(pw);
          expect(printed).not.toContain(encodeURIComponent(pw));
        },
      ),
    );
  });
});

describe('no command prints a password it was given', () => {
  const PASSWORD = 'Tr0ub4dor-and-3';
  const dir = mkdtempSync(join(tmpdir(), 'anon-cli-secrets-'));
  const prefix = `anon-cli-secrets-${process.pid}:`;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const redis = new Redis(process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } catch {
      // no Redis: the worker test failed to connect and left nothing
    } finally {
      redis.disconnect();
    }
  });

  const leaks = (r: { out: string; err: string }) =>
    r.out.includes(PASSWORD) || r.err.includes(PASSWORD) || r.out.includes(encodeURIComponent(PASSWORD));

  it('anon worker names its Redis as redis://:***@… (the password-only form), and stops cleanly', async () => {
    const redisUrl = `redis://:${PASSWORD}@127.0.0.1:6379`;
    const started: string[] = [];
    let stop = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const worker = main(['worker', '--interval', '100ms', '--redis-prefix', prefix, '--pglite', dir], {
      out: (t) => started.push(t),
      err: (t) => started.push(t),
      // The test Redis has no password and still accepts the connection: the worker runs for real.
      env: { ANON_REDIS_URL: redisUrl },
      stopSignal: stopped,
    });
    for (let i = 0; i < 300 && !started.some((l) => l.startsWith('worker: Redis')); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop();
    expect(await worker).toBe(0);
    const printed = started.join('\n');
    expect(printed).toContain('worker: Redis redis://:***@127.0.0.1:6379 → PGlite');
    expect(printed).not.toContain(PASSWORD);
  }, 120_000);

  it.each([
    ['an unreachable Redis', ['report', 'realtime', '--redis-url', `redis://:${PASSWORD}@127.0.0.1:1`], {}],
    [
      'an unreachable Redis from the environment',
      ['report', 'realtime'],
      { ANON_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1` },
    ],
    [
      'an unreachable Postgres',
      ['migrate', '--pg-url', `postgres://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/x`],
      {},
    ],
    [
      'a password in the query',
      ['migrate', '--pg-url', `postgres://app@127.0.0.1:1/x?password=${PASSWORD}`],
      {},
    ],
    ['an invalid URL', ['migrate', '--pg-url', `postgres//app:${PASSWORD}@db`], {}],
    ['a wrong scheme', ['migrate', '--mongo-url', `http://app:${PASSWORD}@db`], {}],
  ] as [string, string[], NodeJS.ProcessEnv][])(
    '%s: the error says where, not the password',
    async (_, args, env) => {
      const r = await run(args, env);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/:\*\*\*@|password=\*\*\*/);
      expect(leaks(r)).toBe(false);
    },
  );
});
