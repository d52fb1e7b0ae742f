import { postgresStore } from '@anon/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import { OwnRedis, pool, postgresMissing, redisServerMissing, required, until } from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

// The guarantee: instances sharing one Redis and one Postgres count exactly as one would.
describe.runIf(ok)('two app instances (Express and Fastify) on one Redis and one Postgres', () => {
  const VISITORS = 40;
  const VIEWS = 5;
  const SENT = VISITORS * VIEWS;
  const names = namesFor('two');
  let redis: OwnRedis;
  let db: Database;
  const secondPool = pool();
  let instances: { app: App; stack: ReturnType<typeof redisTracker> }[] = [];

  beforeAll(async () => {
    redis = await OwnRedis.start();
    db = await openDatabase('two_instances');
    const stores = [db.store, postgresStore(secondPool, { schema: db.schema })];
    instances = await Promise.all(
      (['express', 'fastify'] as const).map(async (framework, i) => {
        const stack = redisTracker(redis, names, { store: stores[i], worker: true });
        return { app: await startApp(framework, stack.tracker), stack };
      }),
    );
  });
  afterAll(async () => {
    for (const { app, stack } of instances) {
      await app.close();
      await stack.tracker.close();
      stack.client.disconnect();
    }
    await secondPool.end();
    await redis?.kill();
    await db?.drop();
  });

  it('give exact views, sessions and unique visitors', async () => {
    // Each visitor alternates instances view by view; views of one visitor are sequential, visitors parallel.
    const answers = (
      await inParallel(VISITORS, 10, async (v) => {
        const out = [];
        for (let view = 0; view < VIEWS; view++) {
          const { app } = instances[(v + view) % 2]!;
          out.push(await send(app.port, `/posts/${view}`, { headers: browser(humanUa(`two-${v}`)) }));
        }
        return out;
      })
    ).flat();
    for (const { stack } of instances) await stack.tracker.flush();
    // flush() returns once the events are in the stream; the two workers write them from there.
    await until(async () => (await db.count('SELECT count(*) FROM $schema.page_views')) >= SENT, 20_000);
    await until(async () => {
      const pending = (await instances[0]!.stack.client.xpending(names.stream, 'anon-workers')) as [number];
      return pending[0] === 0;
    }, 10_000);
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const sessions = await db.count('SELECT count(*) FROM $schema.sessions');
    const viewSessions = await db.count('SELECT count(DISTINCT session_id) FROM $schema.page_views');
    const [row] = await db.rows<{ views: string; uniques: string }>(
      "SELECT views, unique_visitors AS uniques FROM $schema.daily_aggregates WHERE path = '/posts/:id'",
    );
    const maxSeq = await db.count('SELECT max(seq) FROM $schema.page_views');
    report('two instances', {
      sent: SENT,
      stored,
      dropped: instances.reduce((n, { stack }) => n + stack.tracker.stats().dropped, 0),
      errors: answers.filter((a) => a.status !== 200).length,
      extra: { sessions, 'aggregate views': Number(row?.views), 'unique visitors': Number(row?.uniques) },
    });
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(stored).toBe(SENT);
    expect(sessions).toBe(VISITORS);
    expect(viewSessions).toBe(VISITORS);
    expect(maxSeq).toBe(VIEWS);
    expect(Number(row?.views)).toBe(SENT);
    expect(Number(row?.uniques)).toBe(VISITORS);
  });
});
