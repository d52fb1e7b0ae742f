import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, deleteKeys, RULES, redisAvailable, scanKeys, T0, uniquePrefix, view } from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

suite('keys expire (single Redis)', () => {
  let redis: Redis;
  const prefixes: string[] = [];

  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('sessions, pointers, indexes and real-time sets vanish on their own; rate counters after two minutes', async () => {
    const prefix = uniquePrefix('expiry');
    prefixes.push(prefix);
    const rules = { ...RULES, sessionTimeoutMs: 300, realtimeWindowMs: 300 };
    const hot = redisHotStore(redis, { prefix, ttlMarginMs: 200, buckets: 4 });
    for (let i = 0; i < 6; i++) {
      await hot.recordPageView(
        {
          visitorKey: `vk-${i}`,
          previousVisitorKey: null,
          view: view(T0 + i),
          newSessionId: `s-${i}`,
          scopes: ['page:/'],
        },
        rules,
      );
    }
    const keys = await scanKeys(redis, `${prefix}*`);
    const ttls = new Map(await Promise.all(keys.map(async (k) => [k, await redis.pttl(k)] as const)));
    for (const [key, ttl] of ttls) {
      const rate = key.includes('}:r:');
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(rate ? 120_000 : 500);
    }
    expect([...ttls.keys()].filter((k) => k.includes('}:s:'))).toHaveLength(6);
    expect([...ttls.keys()].some((k) => k.includes('}:rt:page:/'))).toBe(true);

    await new Promise((r) => setTimeout(r, 700));
    const left = await scanKeys(redis, `${prefix}*`);
    // Only the rate counters (two minutes) are still there.
    expect(left.length).toBe(6);
    expect(left.every((k) => k.includes('}:r:'))).toBe(true);
  });

  it('measures the memory of one active visitor', async () => {
    const prefix = uniquePrefix('memory');
    prefixes.push(prefix);
    const hot = redisHotStore(redis, { prefix });
    const visitors = 2_000;
    for (let start = 0; start < visitors; start += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, j) => {
          const i = start + j;
          // Realistic sizes: a 32-hex visitor key, UUIDv7 ids, a referrer, two scopes.
          const vk = i.toString(16).padStart(32, '0');
          return hot.recordPageView(
            {
              visitorKey: vk,
              previousVisitorKey: null,
              view: view(T0 + i, {
                id: `0194${i.toString(16).padStart(28, '0')}`,
                path: '/posts/:id',
                referrer: 'https://news.ycombinator.com/item',
                referrerHost: 'news.ycombinator.com',
              }),
              newSessionId: `0195${i.toString(16).padStart(28, '0')}`,
              scopes: ['page:/posts/:id', 'community:montreal'],
            },
            RULES,
          );
        }),
      );
    }
    const keys = await scanKeys(redis, `${prefix}*`);
    const sizes = await Promise.all(keys.map((k) => redis.memory('USAGE', k)));
    const bytes = sizes.reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
    const perVisitor = Math.round(bytes / visitors);
    console.info(
      `[anon] [redis] memory per active visitor: ${perVisitor} bytes (${visitors} visitors, ${keys.length} keys)`,
    );
    expect(perVisitor).toBeGreaterThan(200);
    expect(perVisitor).toBeLessThan(2_000);
  });
});
