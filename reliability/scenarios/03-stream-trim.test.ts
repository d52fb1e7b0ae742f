import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import { OwnRedis, postgresMissing, redisServerMissing, required, until } from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

// Hole 3: acknowledged entries stayed in the stream (visitor keys, user ids, URLs, referrers), outside any
// retention, up to MAXLEN ~1,000,000.
describe.runIf(ok)('the Redis stream after its entries are acknowledged', () => {
  const SENT = 600;
  const names = namesFor('trim');
  let redis: OwnRedis;
  let db: Database;
  let producer: ReturnType<typeof redisTracker>;
  let consumer: ReturnType<typeof redisTracker>;
  let app: App;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    db = await openDatabase('stream_trim');
    // An app instance that only enqueues, and a worker instance that only drains: as in production.
    producer = redisTracker(redis, names);
    consumer = redisTracker(redis, names, { store: db.store, worker: true });
    app = await startApp('fastify', producer.tracker);
  });
  afterAll(async () => {
    await app?.close();
    for (const stack of [producer, consumer]) {
      await stack?.tracker.close();
      stack?.client.disconnect();
    }
    await redis?.kill();
    await db?.drop();
  });

  it('holds nothing once every entry is written and acknowledged', async () => {
    const answers = await inParallel(SENT, 16, (i) =>
      send(app.port, `/posts/${i}`, { headers: browser(humanUa(`trim-${i % 30}`)) }),
    );
    await producer.tracker.flush();
    const admin = redis.admin();
    const written = await until(
      async () => (await db.count('SELECT count(*) FROM $schema.page_views')) === SENT,
      30_000,
    );
    const emptied = await until(async () => (await admin.xlen(names.stream)) === 0, 10_000);
    const left = await admin.xlen(names.stream);
    const [pending] = (await admin.xpending(names.stream, 'anon-workers')) as [number];
    admin.disconnect();
    report('3 stream trimmed after ack', {
      sent: SENT,
      stored: await db.count('SELECT count(*) FROM $schema.page_views'),
      dropped: producer.tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: {
        'entries left in the stream': left,
        pending,
        'consumer queue depth': consumer.tracker.stats().queueDepth,
      },
    });
    expect(written).toBe(true);
    expect(emptied).toBe(true);
    expect(left).toBe(0);
    expect(pending).toBe(0);
  });
});
