import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { Fixture } from '../support/processes.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import {
  OwnRedis,
  PG_URL,
  postgresMissing,
  redisServerMissing,
  required,
  until,
} from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

// The guarantee: a worker that dies after its batch committed and before it was acknowledged leaves the
// entries pending; another worker reclaims them, and the store answers the replay "already applied".
describe.runIf(ok)('a worker SIGKILLed between commit and acknowledgement', () => {
  const VISITORS = 25;
  const VIEWS = 20;
  const SENT = VISITORS * VIEWS;
  const names = namesFor('crash');
  let redis: OwnRedis;
  let db: Database;
  let app: App;
  let producer: ReturnType<typeof redisTracker>;
  const workers: Fixture[] = [];

  beforeAll(async () => {
    redis = await OwnRedis.start();
    db = await openDatabase('worker_crash');
    producer = redisTracker(redis, names);
    app = await startApp('fastify', producer.tracker);
  });
  afterAll(async () => {
    for (const w of workers) await w.signal('SIGKILL');
    await app?.close();
    await producer?.tracker.close();
    producer?.client.disconnect();
    await redis?.kill();
    await db?.drop();
  });

  const worker = (killAfterCommits?: number) => {
    const w = new Fixture('worker-process.ts', {
      redisUrl: redis.url,
      ...names,
      pgUrl: PG_URL,
      schema: db.schema,
      claimIdleMs: 1_000,
      killAfterCommits,
    });
    workers.push(w);
    return w;
  };

  it('replays the batch exactly once', async () => {
    const answers = await inParallel(SENT, 16, (i) =>
      send(app.port, `/posts/${i % VIEWS}`, { headers: browser(humanUa(`crash-${i % VISITORS}`)) }),
    );
    await producer.tracker.flush();

    const doomed = worker(3);
    const death = await doomed.exited;
    const committed = doomed.messages.filter((m) => m.type === 'write');
    const lastCommit = committed.at(-1)?.batchId;

    const survivor = worker();
    await survivor.next('ready');
    const drained = await until(async () => {
      const pending = (await producer.client.xpending(names.stream, 'anon-workers')) as [
        number,
        ...unknown[],
      ];
      return pending[0] === 0 && (await db.count('SELECT count(*) FROM $schema.page_views')) === SENT;
    }, 30_000);
    const closed = survivor.next('closed');
    const exit = await survivor.signal('SIGTERM');
    await closed;
    const replays = survivor.messages.filter((m) => m.type === 'write' && m.applied === false);

    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const counted = await db.count(
      'SELECT coalesce(sum(views + bot_views), 0) FROM $schema.daily_aggregates',
    );
    const ledger = await db.count('SELECT count(*) FROM $schema.batches WHERE id = $1', [lastCommit]);
    report('worker crash between commit and ack', {
      sent: SENT,
      stored,
      dropped: producer.tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: {
        'killed by': String(death.signal),
        'batches committed before the kill': committed.length,
        'replayed batches answered already-applied': replays.length,
        'aggregate views': counted,
        'survivor exit code': String(exit.code),
      },
    });
    expect(death.signal).toBe('SIGKILL');
    expect(committed).toHaveLength(3);
    expect(drained).toBe(true);
    expect(replays.map((m) => m.batchId)).toContain(lastCommit);
    expect(stored).toBe(SENT);
    expect(counted).toBe(SENT);
    expect(ledger).toBe(1);
    expect(exit.code).toBe(0);
  });
});
