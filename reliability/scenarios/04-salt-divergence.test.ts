import { memoryStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { report } from '../support/figures.js';
import { type Answer, browser, humanUa, send } from '../support/http.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import { OwnRedis, redisServerMissing, required } from '../support/services.js';

const ok = required('redis-server', await redisServerMissing());

/** SALT_REREAD_MS in packages/core/src/engine/salt-cache.ts: how long an instance trusts its cached salt. */
const SALT_REREAD_MS = 60_000;

// Hole 4: each process cached the day's salt for good; after Redis came back empty, instances hashed with
// different salts and 10 visitors became 20 keys and 20 sessions.
describe.runIf(ok)('salt divergence after Redis loses its data (FLUSHALL)', () => {
  const VISITORS = 10;
  const names = namesFor('salt');
  const store = memoryStore();
  // One fake clock for every instance, moved past the re-read interval by the scenario.
  let now = Date.now();
  const clock = { now: () => now };
  let redis: OwnRedis;
  const instances: { app: App; stack: ReturnType<typeof redisTracker> }[] = [];

  const startInstance = async (framework: 'express' | 'fastify') => {
    const stack = redisTracker(redis, names, {
      store,
      worker: true,
      clock,
      queueOptions: { stream: `${names.stream}:${instances.length}` },
    });
    const instance = { app: await startApp(framework, stack.tracker), stack };
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(async () => {
    for (const { app, stack } of instances) {
      await app.close();
      await stack.tracker.close();
      stack.client.disconnect();
    }
    await redis?.kill();
  });

  const answers: Answer[] = [];
  const visit = async (instance: { app: App }, v: number) =>
    answers.push(await send(instance.app.port, `/posts/${v}`, { headers: browser(humanUa(`salt-${v}`)) }));
  const settle = async () => {
    for (const { stack } of instances) await stack.tracker.flush();
  };
  const viewsSince = async (at: number) => {
    // Each instance's worker drains its own stream into the one store.
    const views = store.dump().pageViews.filter((view) => view.at >= at);
    return {
      count: views.length,
      keys: new Set(views.map((view) => view.visitorKey)).size,
      sessions: new Set(views.map((view) => view.sessionId)).size,
    };
  };

  it('converge on one key per visitor within the re-read interval', async () => {
    const [a, b] = [await startInstance('express'), await startInstance('fastify')];
    for (let v = 0; v < VISITORS; v++) {
      await visit(a, v);
      await visit(b, v);
    }
    await settle();

    const admin = redis.admin();
    await admin.flushall();
    admin.disconnect();
    now += 1_000;
    // A restarted instance (empty cache) creates a new salt while A and B still trust the old one.
    const c = await startInstance('express');
    const divergedAt = now;
    for (let v = 0; v < VISITORS; v++) {
      await visit(c, v);
      await visit(a, v);
    }
    await settle();

    now += SALT_REREAD_MS + 1_000;
    const convergedAt = now;
    for (let v = 0; v < VISITORS; v++) for (const instance of [a, b, c]) await visit(instance, v);
    await settle();
    for (let i = 0; i < 50 && (await viewsSince(divergedAt)).count < VISITORS * 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const diverged = await viewsSince(divergedAt);
    const converged = await viewsSince(convergedAt);
    report('4 salt divergence', {
      sent: answers.length,
      stored: store.dump().pageViews.length,
      dropped: instances.reduce((n, { stack }) => n + stack.tracker.stats().dropped, 0),
      errors: answers.filter((x) => x.status !== 200).length,
      extra: {
        'keys per visitor inside the interval': (diverged.keys / VISITORS).toFixed(1),
        'after it: keys': converged.keys,
        sessions: converged.sessions,
        visitors: VISITORS,
        'resets seen by a, b, c': [a, b, c]
          .map(({ stack }) => stack.tracker.stats().hotStoreResets)
          .join(', '),
      },
    });
    expect(answers.every((x) => x.status === 200)).toBe(true);
    expect(store.dump().pageViews).toHaveLength(VISITORS * 7);
    // The fault was real: inside the interval the restarted instance hashed with another salt.
    expect(diverged.keys).toBeGreaterThan(VISITORS);
    expect(converged.count).toBe(VISITORS * 3);
    expect(converged.keys).toBe(VISITORS);
    expect(converged.sessions).toBe(VISITORS);
    // The loss is counted and logged by each instance that held the lost salt, and only by those.
    expect([a, b, c].map(({ stack }) => stack.tracker.stats().hotStoreResets)).toEqual([1, 1, 0]);
  });
});
