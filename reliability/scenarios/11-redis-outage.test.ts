import { createTracker, type Tracker } from '@anon/core';
import { memoryQueue } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { type Answer, browser, humanUa, percentile, send } from '../support/http.js';
import { OwnRedis, postgresMissing, redisServerMissing, required, sleep } from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

// The guarantee: Redis killed under load (SIGKILL, then back empty) never reaches a request, and every view
// is still stored (without a session while Redis is away).
describe.runIf(ok)('Redis SIGKILLed under load, then restarted empty', () => {
  const CONCURRENCY = 16;
  const RUN_MS = 6_000;
  let redis: OwnRedis;
  let client: Redis;
  let db: Database;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    client = redis.client();
    db = await openDatabase('redis_outage');
    // The hot store is Redis; the queue is in-process, so what this scenario counts is the hot store's fault.
    tracker = createTracker({
      hot: redisHotStore(client, { prefix: 'rel:outage:', timeoutMs: 200 }),
      queue: memoryQueue(),
      store: db.store,
      logger: quiet,
    });
    app = await startApp('express', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await tracker?.close();
    client?.disconnect();
    await redis?.kill();
    await db?.drop();
  });

  it('keeps every request 200 and stores every view', async () => {
    const answers: Answer[] = [];
    const started = Date.now();
    let i = 0;
    const lane = async () => {
      while (Date.now() - started < RUN_MS) {
        const n = i++;
        answers.push(await send(app.port, `/posts/${n}`, { headers: browser(humanUa(`outage-${n % 200}`)) }));
      }
    };
    const fault = (async () => {
      await sleep(1_500);
      await redis.kill();
      await sleep(2_000);
      await redis.start();
    })();
    await Promise.all([...Array.from({ length: CONCURRENCY }, lane), fault]);
    await tracker.flush();
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const sessionless = await db.count('SELECT count(*) FROM $schema.page_views WHERE session_id IS NULL');
    const stats = tracker.stats();
    const ms = answers.map((a) => a.ms);
    report('Redis killed under load', {
      sent: answers.length,
      stored,
      dropped: stats.dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: {
        'p50 ms': percentile(ms, 50).toFixed(2),
        'p99 ms': percentile(ms, 99).toFixed(2),
        'max ms': Math.max(...ms).toFixed(1),
        'stored without a session': sessionless,
        'hot-store failures logged': stats.failures,
      },
    });
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(stored + stats.dropped).toBe(answers.length);
    expect(stats.dropped).toBe(0);
    // The outage happened, and it was counted: views recorded while Redis was away have no session.
    expect(sessionless).toBeGreaterThan(0);
    expect(stats.failures).toBeGreaterThan(0);
  });
});
