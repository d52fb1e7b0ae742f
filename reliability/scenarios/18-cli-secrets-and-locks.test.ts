import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTracker } from '@anon/core';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { CLI, runCli } from '../support/cli.js';
import { type Database, openDatabase } from '../support/database.js';
import { ioredis, ROOT } from '../support/deps.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, send } from '../support/http.js';
import { namesFor } from '../support/redis-stack.js';
import {
  PG_URL,
  pool,
  postgresMissing,
  redisServerMissing,
  required,
  sleep,
  sparePort,
  until,
} from '../support/services.js';

const pgOk = required('Postgres', await postgresMissing());
const redisOk = pgOk && required('redis-server', await redisServerMissing());

/** A `redis-server` of this scenario's own that asks for a password (the suite's own Redis does not). */
async function redisWithPassword(password: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await sparePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: 'ignore' },
  );
  const probe = new ioredis.Redis({ port, password, lazyConnect: true, retryStrategy: () => 100 });
  probe.on('error', () => undefined);
  const up = await until(
    () =>
      probe.ping().then(
        () => true,
        () => false,
      ),
    10_000,
  );
  probe.disconnect();
  if (!up) throw new Error(`redis-server with a password did not start on ${port}`);
  return {
    port,
    stop: async () => {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/** A process and everything it printed, stdout and stderr together. */
function launch(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

const exitOf = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (c) => r(c)));

// Hole 10, the CLI's part: `anon worker` printed a password-only Redis URL (`redis://:pw@host`) in clear.
describe.runIf(redisOk)('`anon worker` never prints a password', () => {
  const names = namesFor('cli_secrets');
  const password = `rel-${randomBytes(9).toString('hex')}`;
  const pgPassword = `pg-${randomBytes(9).toString('hex')}`;
  let redis: Awaited<ReturnType<typeof redisWithPassword>>;
  let db: Database;
  let app: App;
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
    await db?.drop();
  });

  it('neither the Redis password (password-only form, on the command line) nor the Postgres one (environment)', async () => {
    redis = await redisWithPassword(password);
    db = await openDatabase('cli_secrets');
    const client = new ioredis.Redis({ port: redis.port, password, enableOfflineQueue: false });
    client.on('error', () => undefined);
    const tracker = createTracker({
      hot: redisHotStore(client, { prefix: names.prefix }),
      queue: redisStreamQueue(client, { stream: names.stream, logger: quiet }),
      worker: false,
      sweeper: false,
      logger: quiet,
    });
    app = await startApp('express', tracker);
    const SENT = 200;
    const answers = [];
    for (let i = 0; i < SENT; i++) {
      answers.push(await send(app.port, `/posts/${i % 20}`, { headers: browser(humanUa(i % 40)) }));
    }
    await tracker.close();
    client.disconnect();

    // The password-only form the issue reproduced, and a Postgres URL with a password (trust auth ignores it).
    const redisUrl = `redis://:${password}@127.0.0.1:${redis.port}`;
    const pgUrl = new URL(PG_URL);
    pgUrl.password = pgPassword;
    const worker = launch(
      [
        ...CLI,
        'worker',
        '--redis-url',
        redisUrl,
        '--redis-prefix',
        names.prefix,
        '--schema',
        db.schema,
        '--interval',
        '500ms',
      ],
      { ANON_PG_URL: pgUrl.href },
    );
    await until(async () => (await db.count('SELECT count(*) FROM $schema.page_views')) >= SENT, 60_000, 250);
    worker.child.kill('SIGTERM');
    const workerExit = await exitOf(worker.child);

    const wrong = await runCli([
      'report',
      'realtime',
      '--redis-url',
      `redis://:wrong-${password}@127.0.0.1:${redis.port}`,
    ]);
    const printed = worker.output() + wrong.stdout + wrong.stderr;
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const leaked = [password, pgPassword].filter((secret) => printed.includes(secret)).length;
    report('18 CLI secrets (anon worker)', {
      sent: SENT,
      stored,
      dropped: tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length + (workerExit === 0 ? 0 : 1),
      extra: {
        'passwords printed': leaked,
        'Redis shown as': `redis://:***@127.0.0.1:${redis.port}`,
        'wrong password exit code': String(wrong.code),
      },
    });
    expect(workerExit, worker.output()).toBe(0);
    expect(stored).toBe(SENT);
    expect(worker.output()).toContain(
      `worker: Redis redis://:***@127.0.0.1:${redis.port} → Postgres postgres://`,
    );
    expect(worker.output()).toContain(':***@');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/could not reach Redis at redis:\/\/:\*\*\*@.*WRONGPASS/);
    expect(leaked).toBe(0);
  });
});

// Hole 10: `anon report --schema typo` silently created the schema.
describe.runIf(pgOk)('read-only commands on a mistyped schema', () => {
  const typo = `rel_typo_${randomBytes(4).toString('hex')}`;

  it('say the schema does not exist, exit 1, and create nothing', async () => {
    const commands = [
      ['report', 'pages'],
      ['dashboard', '--port', '0'],
      ['purge', '--older-than', '90d', '--dry-run'],
      ['erase', '--user', 'someone'],
    ];
    const results = [];
    for (const command of commands)
      results.push(await runCli([...command, '--pg-url', PG_URL, '--schema', typo]));
    const p = pool();
    const created = Number(
      (await p.query('SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1', [typo])).rows[0].n,
    );
    await p.query(`DROP SCHEMA IF EXISTS "${typo}" CASCADE`);
    await p.end();
    const said = results.filter(
      (r) => r.code === 1 && r.stderr.includes(`the schema "${typo}" does not exist`),
    );
    report('18 read-only commands (mistyped schema)', {
      sent: commands.length,
      stored: created,
      dropped: 0,
      errors: commands.length - said.length,
      extra: { 'schemas created': created, 'commands that said the schema is missing': said.length },
    });
    expect(said.length, JSON.stringify(results)).toBe(commands.length);
    expect(created).toBe(0);
  });
});

// Hole 10: a PGlite folder opened by `anon report` while the app held it was corrupted (2 of 3 tries).
describe('a PGlite folder an app holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rel-pglite-lock-'));
  const pglite = pathToFileURL(
    createRequire(join(ROOT, 'packages/postgres/package.json')).resolve('@electric-sql/pglite'),
  ).href;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * An app process on PGlite: memory hot store, in-process worker, 10 page views every 100 ms (each from its own
   * visitor) until SIGTERM (then closes the tracker and PGlite), or `limit` views, flushed, then idle.
   */
  const startPGliteApp = (limit: number | null) =>
    launch([
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `
      const { createTracker } = await import('@anon/core');
      const { postgresStore } = await import('@anon/postgres');
      const { PGlite } = await import(${JSON.stringify(pglite)});
      const db = new PGlite(${JSON.stringify(dir)});
      const store = postgresStore(db);
      await store.migrate();
      const tracker = createTracker({ store, logger: { warn() {}, error() {} } });
      const limit = ${JSON.stringify(limit)};
      let n = 0;
      console.log('ready ' + process.pid);
      const timer = setInterval(async () => {
        for (let i = 0; i < 10; i++, n++) {
          tracker.track({ method: 'GET', url: '/p/' + (n % 7), status: 200, ip: '198.51.' + (n >> 8 & 255) + '.' + (n & 255),
            headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' } });
        }
        if (limit !== null && n >= limit) {
          clearInterval(timer);
          await tracker.flush();
          console.log('flushed ' + n);
        }
      }, 100);
      process.on('SIGTERM', async () => {
        clearInterval(timer);
        await tracker.close();
        await db.close();
        console.log('closed ' + n);
        process.exit(0);
      });
      `,
    ]);

  const lineOf = async (proc: ReturnType<typeof launch>, pattern: RegExp) => {
    await until(() => pattern.test(proc.output()) || proc.child.exitCode !== null, 90_000, 50);
    const match = pattern.exec(proc.output());
    if (match === null) throw new Error(`no line matching ${pattern}: ${proc.output()}`);
    return match;
  };
  const storedViews = async () => {
    const r = await runCli(['report', 'overview', '--json', '--include-bots', '--pglite', dir]);
    if (r.code !== 0) throw new Error(`anon report failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { total: { pageViews: number } }).total.pageViews;
  };

  it('is refused to `anon report` while the app runs, stays intact, and is readable once the app stops or dies', async () => {
    const app = startPGliteApp(null);
    const pid = Number((await lineOf(app, /ready (\d+)/))[1]);
    const tries = [];
    for (let i = 0; i < 3; i++) {
      tries.push(await runCli(['report', 'pages', '--pglite', dir]));
      await sleep(200);
    }
    app.child.kill('SIGTERM');
    const tracked = Number((await lineOf(app, /closed (\d+)/))[1]);
    await exitOf(app.child);
    const afterStop = await storedViews();

    // A SIGKILLed app leaves its lock behind: the next command takes it over (the process is gone).
    const crashing = startPGliteApp(50);
    await lineOf(crashing, /flushed \d+/);
    crashing.child.kill('SIGKILL');
    await exitOf(crashing.child);
    const afterKill = await storedViews();

    const refused = tries.filter(
      (t) => t.code === 1 && t.stderr.includes(`is open in another process (pid ${pid})`),
    ).length;
    report('18 PGlite folder lock', {
      sent: tracked + 50,
      stored: afterKill,
      dropped: 0,
      errors: tries.length - refused,
      extra: {
        '`anon report` runs refused while the app held the folder': `${refused} of ${tries.length}`,
        'views stored after SIGTERM': `${afterStop} of ${tracked}`,
        'after SIGKILL (stale lock taken over)': `${afterKill - afterStop} of 50`,
      },
    });
    expect(refused, JSON.stringify(tries)).toBe(tries.length);
    expect(afterStop).toBe(tracked);
    expect(afterKill).toBe(tracked + 50);
  }, 180_000);
});
