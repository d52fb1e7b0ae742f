import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { CLI } from '../support/cli.js';
import { type Database, openDatabase } from '../support/database.js';
import { ROOT } from '../support/deps.js';
import { report } from '../support/figures.js';
import { type Answer, browser, humanUa, send } from '../support/http.js';
import { PgProxy } from '../support/pg-proxy.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import {
  OwnRedis,
  PG_URL,
  postgresMissing,
  redisServerMissing,
  required,
  sleep,
  until,
} from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

// The guarantee: with Postgres unreachable for 20 s, `anon worker` holds the stream's entries and retries;
// once Postgres is back everything is written, once.
describe.runIf(ok)('Postgres cut for 20 s under `anon worker`', () => {
  const CUT_MS = 20_000;
  const names = namesFor('pgout');
  let redis: OwnRedis;
  let db: Database;
  let proxy: PgProxy;
  let app: App;
  let producer: ReturnType<typeof redisTracker>;
  let worker: ChildProcess;
  let workerOut = '';

  beforeAll(async () => {
    redis = await OwnRedis.start();
    db = await openDatabase('pg_outage');
    proxy = await PgProxy.start(PG_URL);
    producer = redisTracker(redis, names);
    app = await startApp('express', producer.tracker);
    worker = spawn(
      process.execPath,
      [
        ...CLI,
        'worker',
        '--redis-url',
        redis.url,
        '--redis-prefix',
        names.prefix,
        '--pg-url',
        proxy.urlFor(PG_URL),
        '--schema',
        db.schema,
        '--interval',
        '5s',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    worker.stdout?.on('data', (chunk: Buffer) => {
      workerOut += chunk.toString();
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      workerOut += chunk.toString();
    });
  });
  afterAll(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await app?.close();
    await producer?.tracker.close();
    producer?.client.disconnect();
    await proxy?.close();
    await redis?.kill();
    await db?.drop();
  });

  it('loses nothing and double-counts nothing', async () => {
    const answers: Answer[] = [];
    let n = 0;
    const traffic = async (count: number, spreadMs: number) => {
      for (let i = 0; i < count; i++) {
        const k = n++;
        answers.push(await send(app.port, `/posts/${k}`, { headers: browser(humanUa(`pg-${k % 50}`)) }));
        await sleep(spreadMs / count);
      }
    };
    const stored = () => db.count('SELECT count(*) FROM $schema.page_views');

    await traffic(100, 1_000);
    await producer.tracker.flush();
    const before = await until(async () => (await stored()) === n, 30_000);

    proxy.cut();
    const cutAt = Date.now();
    await traffic(300, CUT_MS - 1_000);
    await producer.tracker.flush();
    const duringCut = await stored();
    await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
    proxy.restore();

    await traffic(100, 1_000);
    await producer.tracker.flush();
    const recoveredAt = Date.now();
    const caughtUp = await until(async () => (await stored()) === n, 40_000);
    const recoveryMs = Date.now() - recoveredAt;

    const exitCode = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    const code = await exitCode;

    const views = await stored();
    const distinct = await db.count('SELECT count(DISTINCT id) FROM $schema.page_views');
    const counted = await db.count(
      'SELECT coalesce(sum(views + bot_views), 0) FROM $schema.daily_aggregates',
    );
    report('Postgres out 20 s', {
      sent: n,
      stored: views,
      dropped: producer.tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: {
        'stored while cut (already written before)': duringCut,
        'connections cut or refused': proxy.dropped,
        'caught up after restore ms': recoveryMs,
        'aggregate views': counted,
        'worker exit code': String(code),
      },
    });
    expect(before).toBe(true);
    expect(duringCut).toBe(100);
    expect(caughtUp).toBe(true);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(views).toBe(n);
    expect(distinct).toBe(n);
    expect(counted).toBe(n);
    expect(code, workerOut).toBe(0);
  });
});
