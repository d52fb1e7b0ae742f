import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, deleteKeys, RULES, redisAvailable, T0, uniquePrefix, view } from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

/** Commands the server received from `client`'s socket, as seen by MONITOR on another connection. */
async function watch(
  monitorFrom: Redis,
  client: Redis,
): Promise<{ commands: string[][]; stop(): Promise<void> }> {
  const monitor = await monitorFrom.monitor();
  const local = (client as unknown as { stream: { localPort: number } }).stream.localPort;
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source.endsWith(`:${local}`)) commands.push(args);
  });
  return {
    commands,
    async stop() {
      monitor.disconnect();
    },
  };
}

suite('one round trip per page view (single Redis)', () => {
  let redis: Redis;
  let observer: Redis;
  const prefix = uniquePrefix('round-trip');

  beforeAll(async () => {
    redis = connect();
    observer = connect();
    await Promise.all([redis.ping(), observer.ping()]);
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
    observer.disconnect();
  });

  it('sends exactly one EVALSHA per page view, with scopes and a previous visitor key', async () => {
    const hot = redisHotStore(redis, { prefix });
    const record = (i: number) =>
      hot.recordPageView(
        {
          visitorKey: `vk-${i % 10}`,
          previousVisitorKey: i % 4 === 0 ? `old-${i % 10}` : null,
          view: view(T0 + i * 1_000, { path: `/p/${i % 3}` }),
          newSessionId: `s-${i}`,
          scopes: [`page:/p/${i % 3}`, 'community:montreal'],
        },
        RULES,
      );
    // The first call loads the script (EVALSHA → NOSCRIPT → EVAL, once per server).
    await record(0);
    const watcher = await watch(observer, redis);
    // Let MONITOR attach before counting.
    await observer.ping();
    const views = 50;
    for (let i = 1; i <= views; i++) await record(i);
    await redis.ping();
    await new Promise((r) => setTimeout(r, 100));
    await watcher.stop();
    const sent = watcher.commands.map((args) => String(args[0]).toLowerCase());
    expect(sent.filter((c) => c === 'evalsha')).toHaveLength(views);
    expect(sent.filter((c) => c !== 'evalsha' && c !== 'ping')).toEqual([]);
  });

  it('a batch of page views is one pipeline of few scripts: commands per view fall far below 1', async () => {
    const hot = redisHotStore(redis, { prefix });
    let n = 1_000;
    const batchOf = (size: number) =>
      Array.from({ length: size }, () => {
        n++;
        return {
          visitorKey: `bk-${n % 40}`,
          previousVisitorKey: n % 7 === 0 ? `bold-${n % 40}` : null,
          view: view(T0 + n * 100, { path: `/p/${n % 3}` }),
          newSessionId: `bs-${n}`,
          scopes: [`page:/p/${n % 3}`, 'community:montreal'],
        };
      });
    await hot.recordPageViews(batchOf(10), RULES); // loads the script on this connection
    const watcher = await watch(observer, redis);
    await observer.ping();
    const sizes = [10, 50, 200, 500];
    const sentPerBatch: number[] = [];
    for (const size of sizes) {
      const before = watcher.commands.length;
      const steps = await hot.recordPageViews(batchOf(size), RULES);
      expect(steps).toHaveLength(size);
      await redis.ping();
      await new Promise((r) => setTimeout(r, 50));
      sentPerBatch.push(
        watcher.commands.slice(before).filter((args) => String(args[0]).toLowerCase() !== 'ping').length,
      );
    }
    await watcher.stop();
    const sent = watcher.commands.map((args) => String(args[0]).toLowerCase());
    expect(sent.filter((c) => c !== 'evalsha' && c !== 'ping')).toEqual([]);
    // One script per 100 views, whatever the number of shards the batch touches.
    expect(sentPerBatch).toEqual([1, 1, 2, 5]);
    const perView = sizes.map((size, i) => (sentPerBatch[i] as number) / size);
    console.info(
      `[anon] [redis] commands per view, single Redis: ${sizes.map((s, i) => `batch ${s}: ${perView[i]}`).join(', ')}`,
    );
    for (const ratio of perView) expect(ratio).toBeLessThanOrEqual(0.1);
  });
});
