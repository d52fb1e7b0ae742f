import type { AnonEvent, Queue } from '@anon/core';
import { memoryStore } from '@anon/core/memory';
import { redisStreamQueue } from '@anon/redis';
import { FIXTURE_NOW, fixtureView, pageViewEvent, waitFor } from '@anon/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, deleteKeys, RedisProxy, redisAvailable, uniquePrefix } from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

const events = (count: number, from = 0): AnonEvent[] =>
  Array.from({ length: count }, (_, i) =>
    pageViewEvent(
      fixtureView({
        at: FIXTURE_NOW + from + i,
        path: `/p/${(from + i) % 5}`,
        visitorKey: `vk-${(from + i) % 17}`,
      }),
    ),
  );

const quiet = { warn: () => {}, error: () => {} };

suite('redisStreamQueue (single Redis)', () => {
  const clients: Redis[] = [];
  const queues: Queue[] = [];
  const prefixes: string[] = [];
  const client = (): Redis => {
    const c = connect();
    clients.push(c);
    return c;
  };
  const stream = (name: string): string => {
    const prefix = uniquePrefix(name);
    prefixes.push(prefix);
    return `${prefix}events`;
  };

  beforeAll(() => {
    client();
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    for (const prefix of prefixes) await deleteKeys(clients[0] as Redis, prefix);
    for (const c of clients) c.disconnect();
  });

  it('several instances enqueue, several workers consume: the store counts every view exactly once', async () => {
    const key = stream('many');
    const options = { stream: key, blockMs: 100, batchSize: 50, logger: quiet };
    const producers = [0, 1, 2].map(() => redisStreamQueue(client(), options));
    const workers = [0, 1].map(() => redisStreamQueue(client(), options));
    queues.push(...producers, ...workers);
    const store = memoryStore();
    const consumers = workers.map((w) => w.consume(async (batch) => void (await store.write(batch))));
    const all = events(900);
    for (const [i, e] of all.entries()) producers[i % 3]?.enqueue([e]);
    await Promise.all(producers.map((p) => p.flush()));
    expect(await waitFor(async () => (await store.dump()).pageViews.length === all.length, 20_000)).toBe(
      true,
    );
    const views = store.dump().aggregates.reduce((sum, row) => sum + row.views, 0);
    expect(views).toBe(all.length);
    await Promise.all(consumers.map((c) => c.stop()));
  });

  it('a worker killed mid-batch loses nothing: its entries are reclaimed and the counts stay exact', async () => {
    const key = stream('killed');
    const options = { stream: key, blockMs: 100, batchSize: 40, claimIdleMs: 300, logger: quiet };
    const producer = redisStreamQueue(client(), options);
    const committed = redisStreamQueue(client(), options);
    const uncommitted = redisStreamQueue(client(), options);
    const survivor = redisStreamQueue(client(), options);
    queues.push(producer, committed, uncommitted, survivor);
    const store = memoryStore();

    // Two workers die holding a batch: one after the store committed it (before XACK), one before.
    let release: (reason: Error) => void = () => {};
    const hang = new Promise<never>((_, reject) => {
      release = reject;
    });
    hang.catch(() => {});
    let calls = 0;
    let held = 0;
    const doomed = [
      committed.consume(async (batch) => {
        calls++;
        await store.write(batch);
        held += batch.events.length;
        await hang;
      }),
      uncommitted.consume(async (batch) => {
        calls++;
        held += batch.events.length;
        await hang;
      }),
    ];
    const all = events(200);
    producer.enqueue(all);
    await producer.flush();
    expect(await waitFor(() => calls === 2, 10_000)).toBe(true);
    expect(store.dump().pageViews.length).toBeLessThan(all.length);
    expect(held).toBeGreaterThan(0);

    const survivorConsumer = survivor.consume(async (batch) => void (await store.write(batch)));
    expect(await waitFor(() => store.dump().pageViews.length === all.length, 20_000)).toBe(true);
    const redis = clients[0] as Redis;
    expect(
      await waitFor(async () => Number((await redis.xpending(key, 'anon-workers'))[0]) === 0, 10_000),
    ).toBe(true);
    expect(store.dump().aggregates.reduce((sum, row) => sum + row.views, 0)).toBe(all.length);
    expect(new Set(store.dump().pageViews.map((v) => v.id))).toEqual(new Set(all.map((e) => e.id)));
    // Reclaimed entries were deleted once acknowledged, like the others: the stream is empty.
    expect(await redis.xlen(key)).toBe(0);

    const stopping = doomed.map((c) => c.stop());
    release(new Error('the process died'));
    await Promise.all(stopping);
    await survivorConsumer.stop();
  });

  it('acknowledged entries are deleted: after consumption the stream is empty and holds no visitor key', async () => {
    const key = stream('trimmed');
    const options = { stream: key, blockMs: 100, batchSize: 50, logger: quiet };
    const producer = redisStreamQueue(client(), options);
    const worker = redisStreamQueue(client(), options);
    queues.push(producer, worker);
    const store = memoryStore();
    const consumer = worker.consume(async (batch) => void (await store.write(batch)));
    const all = events(400);
    const redis = clients[0] as Redis;
    // A malformed entry (not written by anon) is acknowledged and deleted too.
    await redis.xadd(key, '*', 'other', 'vk-secret');
    producer.enqueue(all);
    await producer.flush();
    expect(await waitFor(() => store.dump().pageViews.length === all.length, 20_000)).toBe(true);
    expect(await waitFor(async () => (await redis.xlen(key)) === 0, 5_000)).toBe(true);
    expect(await redis.xrange(key, '-', '+')).toEqual([]);
    expect(Number((await redis.xpending(key, 'anon-workers'))[0])).toBe(0);
    // No visitor key is left anywhere in the stream's memory: not in entries, not in the pending list.
    const visitorKeys = new Set(all.map((e) => (e.type === 'pageview' ? e.view.visitorKey : '')));
    expect(visitorKeys.size).toBeGreaterThan(1);
    const dump = JSON.stringify(await redis.xinfo('STREAM', key, 'FULL'));
    for (const vk of [...visitorKeys, 'vk-secret']) expect(dump).not.toContain(`"${vk}`);
    // The worker knows the backlog is gone; the producer knew how much it had left there.
    expect(await waitFor(() => worker.depth() === 0, 5_000)).toBe(true);
    await consumer.stop();
  });

  it('depth() includes the backlog held in Redis, with no round trip per call', async () => {
    const key = stream('depth');
    const options = { stream: key, blockMs: 100, logger: quiet };
    const producer = redisStreamQueue(client(), options);
    const worker = redisStreamQueue(client(), options);
    queues.push(producer, worker);
    producer.enqueue(events(120));
    expect(producer.depth()).toBe(120);
    await producer.flush();
    // Sent: no longer in this process, still waiting in the stream for a worker.
    expect(producer.depth()).toBe(120);
    const handled: string[] = [];
    const consumer = worker.consume(async (batch) => void handled.push(...batch.events.map((e) => e.id)));
    expect(await waitFor(() => handled.length === 120, 10_000)).toBe(true);
    expect(await waitFor(() => worker.depth() === 0, 5_000)).toBe(true);
    await consumer.stop();
  });

  it('while Redis is down, enqueue neither throws nor blocks; the bounded buffer drains when Redis returns', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    const flaky = new Redis(proxy.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    });
    flaky.on('error', () => {});
    clients.push(flaky);
    await new Promise((r) => flaky.once('ready', r));
    const key = stream('down');
    const warnings: string[] = [];
    const queue = redisStreamQueue(flaky, {
      stream: key,
      bufferSize: 300,
      retryInitialMs: 20,
      retryMaxMs: 100,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    });
    queues.push(queue);
    try {
      queue.enqueue(events(10));
      await queue.flush();
      await proxy.down();
      await waitFor(() => flaky.status !== 'ready', 2_000);

      const during = events(400, 10);
      const started = performance.now();
      for (const e of during) queue.enqueue([e]);
      expect(performance.now() - started).toBeLessThan(50);
      await new Promise((r) => setTimeout(r, 200));
      // Bounded: the oldest were dropped and counted; the rest wait.
      expect(queue.dropped()).toBe(100);
      // 300 buffered here, and the 10 sent before the outage that no worker has acknowledged yet.
      expect(queue.depth()).toBe(300 + 10);

      await proxy.up();
      const flushed = queue.flush();
      await flushed;
      const redis = clients[0] as Redis;
      expect(await redis.xlen(key)).toBe(10 + 300);
      // What reached Redis is the newest 300 of the outage, in order.
      const entries = await redis.xrange(key, '-', '+');
      const ids = entries.slice(10).map(([, fields]) => (JSON.parse(fields[1] as string) as AnonEvent).id);
      expect(ids).toEqual(during.slice(100).map((e) => e.id));
      // Failures were logged, at a rate limit: one line for the whole outage.
      expect(warnings.length).toBeLessThanOrEqual(2);
    } finally {
      await queue.close();
      await proxy.down();
    }
  });

  it('logs a skipped entry once with its count, and leaves a failing handler to report its own failure', async () => {
    const key = stream('logged');
    const redis = clients[0] as Redis;
    const lines: { msg: string; data?: Record<string, unknown> }[] = [];
    const keep = (msg: string, data?: Record<string, unknown>) => void lines.push({ msg, data });
    const queue = redisStreamQueue(client(), {
      stream: key,
      blockMs: 100,
      retryInitialMs: 10,
      logger: { warn: keep, error: keep },
    });
    queues.push(queue);
    // Two entries some other program wrote, then five events: one read delivers all seven.
    await redis.xadd(key, '*', 'x', 'not an anon event');
    await redis.xadd(key, '*', 'x', 'nor this');
    queue.enqueue(events(5));
    await queue.flush();
    let calls = 0;
    const handled: string[] = [];
    const consumer = queue.consume(async (batch) => {
      calls++;
      // The tracker's worker reports its store's failure itself (its failure log), then rethrows.
      if (calls <= 3) throw new Error('store down');
      handled.push(...batch.events.map((e) => e.id));
    });
    expect(await waitFor(() => handled.length === 5, 10_000)).toBe(true);
    await consumer.stop();
    expect(calls).toBe(4);
    // One line, its count in the data; the handler's three failures add none: they are the handler's to say.
    expect(lines).toEqual([
      {
        msg: '[anon] [redis] stream entries that were not anon events (or were trimmed) were skipped',
        data: { entries: 2 },
      },
    ]);
    expect(queue.dropped()).toBe(2);
  });

  it('rejects a bad configuration with a typed error', () => {
    const redis = clients[0] as Redis;
    expect(() => redisStreamQueue(redis, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => redisStreamQueue(redis, { stream: '' })).toThrow(/stream/);
  });
});

suite('over RESP2 (protocol: 2, the wire protocol of ioredis 5)', () => {
  it('the hot store and the queue read the same replies', async () => {
    const { REDIS_URL } = await import('./support.js');
    const { redisHotStore } = await import('@anon/redis');
    const { RULES, T0, view } = await import('./support.js');
    const redis = new Redis(REDIS_URL, { protocol: 2, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    const prefix = uniquePrefix('resp2');
    try {
      const hot = redisHotStore(redis, { prefix });
      const rec = (at: number, sid: string) =>
        hot.recordPageView(
          { visitorKey: 'vk', previousVisitorKey: null, view: view(at), newSessionId: sid, scopes: ['s'] },
          RULES,
        );
      await rec(T0, 's-1');
      expect((await rec(T0 + 1_000, 's-2')).seq).toBe(2);
      expect(await hot.activeVisitors(T0 + 1_000, 60_000, 's')).toMatchObject({ total: 1 });
      expect(
        (await hot.claimExpired(T0 + 1_000 + RULES.sessionTimeoutMs + 1, RULES, 5, 1_000)).map((s) => s.id),
      ).toEqual(['s-1']);

      const queue = redisStreamQueue(redis, { stream: `${prefix}events`, blockMs: 100, logger: quiet });
      const got: string[] = [];
      const consumer = queue.consume(async (batch) => void got.push(...batch.events.map((e) => e.id)));
      const sent = events(30);
      queue.enqueue(sent);
      await queue.flush();
      expect(await waitFor(() => got.length === sent.length, 10_000)).toBe(true);
      expect(got).toEqual(sent.map((e) => e.id));
      await consumer.stop();
      await queue.close();
    } finally {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  });
});
