import type { HotStore, RecordInput } from '@anon/core';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  deleteKeys,
  MINUTE,
  RULES,
  redisAvailable,
  scanKeys,
  T0,
  uniquePrefix,
  view,
} from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

const visit = (visitorKey: string, at: number, newSessionId: string, scopes: string[] = []): RecordInput => ({
  visitorKey,
  previousVisitorKey: null,
  view: view(at),
  newSessionId,
  scopes,
});

suite('redisHotStore key layout (single Redis)', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const fresh = (name: string, buckets?: number): { hot: HotStore; prefix: string } => {
    const prefix = uniquePrefix(`layout-${name}`);
    prefixes.push(prefix);
    return { hot: redisHotStore(redis, { prefix, ...(buckets === undefined ? {} : { buckets }) }), prefix };
  };

  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  for (const buckets of [1, 64]) {
    it(`claimExpired returns the sessions idle longest by their last view, not by when they started (${buckets} shard(s))`, async () => {
      const { hot } = fresh(`oldest-${buckets}`, buckets);
      // a starts first but is continued last; b is continued once; c is seen once.
      await hot.recordPageViews(
        [
          visit('a', T0, 's-a'),
          visit('b', T0 + MINUTE, 's-b'),
          visit('c', T0 + 2 * MINUTE, 's-c'),
          visit('b', T0 + 3 * MINUTE, 'unused-1'),
          visit('a', T0 + 10 * MINUTE, 'unused-2'),
        ],
        RULES,
      );
      // Only c is idle here, though a and b were indexed before it.
      const early = T0 + 2 * MINUTE + RULES.sessionTimeoutMs + 1;
      expect((await hot.claimExpired(early, RULES, 10, 60_000)).map((s) => s.id)).toEqual(['s-c']);
      await hot.complete(['s-c']);
      const late = T0 + 10 * MINUTE + RULES.sessionTimeoutMs + 1;
      const first = await hot.claimExpired(late, RULES, 1, 60_000);
      expect(first.map((s) => [s.id, s.lastSeenAt])).toEqual([['s-b', T0 + 3 * MINUTE]]);
      const second = await hot.claimExpired(late, RULES, 1, 60_000);
      expect(second.map((s) => [s.id, s.lastSeenAt])).toEqual([['s-a', T0 + 10 * MINUTE]]);
    });
  }

  it('claimExpired finds the idle sessions behind many continued ones', async () => {
    const { hot } = fresh('behind', 1);
    const continued = Array.from({ length: 30 }, (_, i) => `busy-${i}`);
    await hot.recordPageViews(
      continued.map((k, i) => visit(k, T0 + i, `s-${k}`)),
      RULES,
    );
    const idle = Array.from({ length: 5 }, (_, i) => `idle-${i}`);
    await hot.recordPageViews(
      idle.map((k, i) => visit(k, T0 + MINUTE + i, `s-${k}`)),
      RULES,
    );
    // The first thirty sessions go on: their views come after the five idle ones.
    await hot.recordPageViews(
      continued.map((k, i) => visit(k, T0 + 20 * MINUTE + i, `next-${k}`)),
      RULES,
    );
    const at = T0 + MINUTE + 4 + RULES.sessionTimeoutMs + 1;
    const claimed = await hot.claimExpired(at, RULES, 5, 60_000);
    expect(claimed.map((s) => s.id)).toEqual(idle.map((k) => `s-${k}`));
    expect(await hot.claimExpired(at, RULES, 5, 60_000)).toEqual([]);
  });

  it('keeps one real-time set per scope for every visitor, across shards', async () => {
    const { hot, prefix } = fresh('shared-realtime');
    const visitors = Array.from({ length: 40 }, (_, i) => `vk-${i}`);
    await hot.recordPageViews(
      visitors.map((k, i) => visit(k, T0 + i, `s-${i}`, ['page:/'])),
      RULES,
    );
    const members = await redis.zrange(`${prefix}{rt}:rt:page:/`, '0', '-1');
    expect(members.sort()).toEqual([...visitors].sort());
    expect(await redis.zcard(`${prefix}{rt}:rt`)).toBe(40);
    expect(await scanKeys(redis, `${prefix}{b*}:rt*`)).toEqual([]);
    expect(await hot.activeVisitors(T0 + 100, 5 * MINUTE, 'page:/')).toEqual({
      total: 40,
      authenticated: 0,
      anonymous: 40,
    });
  });

  it('counts the per-shard real-time sets an earlier release wrote, while they last', async () => {
    const { hot, prefix } = fresh('legacy-realtime');
    // What the previous layout holds: a visitor per shard set, one of them signed in.
    await redis.zadd(`${prefix}{b3}:rt`, T0, 'old-1');
    await redis.zadd(`${prefix}{b3}:rt:page:/`, T0, 'old-1');
    await redis.zadd(`${prefix}{b9}:rt`, T0 + 1, 'old-2');
    await redis.zadd(`${prefix}{b9}:ra`, T0 + 1, 'old-2');
    await hot.recordPageView(visit('new-1', T0 + 2, 's-new', ['page:/']), RULES);
    expect(await hot.activeVisitors(T0 + 10, 5 * MINUTE)).toEqual({
      total: 3,
      authenticated: 1,
      anonymous: 2,
    });
    expect(await hot.activeVisitors(T0 + 10, 5 * MINUTE, 'page:/')).toMatchObject({ total: 2 });
    // Once they expired (one window after the earlier release's last write), the shared sets alone count.
    await redis.del(`${prefix}{b3}:rt`, `${prefix}{b3}:rt:page:/`, `${prefix}{b9}:rt`, `${prefix}{b9}:ra`);
    expect(await hot.activeVisitors(T0 + 10, 5 * MINUTE)).toMatchObject({ total: 1, authenticated: 0 });
  });

  it('continues a live session an earlier release wrote', async () => {
    const { hot, prefix } = fresh('legacy-session', 1);
    const base = `${prefix}{b0}:`;
    // The session hash, pointer and expiry index exactly as the previous release's script leaves them.
    await redis.hset(`${base}s:s-old`, {
      id: 's-old',
      visitorKey: 'vk',
      startedAt: String(T0),
      startDay: '2026-01-15',
      lastSeenAt: String(T0 + MINUTE),
      pageViews: '2',
      landingPath: '/',
      exitPath: '/a',
      lastViewId: 'v-2',
      lastViewDay: '2026-01-15',
      lastViewIsBot: '0',
      isBot: '0',
      device: 'desktop',
      browser: 'Firefox',
      _v: 'vk',
    });
    await redis.set(`${base}v:vk`, 's-old', 'PX', 60_000);
    await redis.pexpire(`${base}s:s-old`, 60_000);
    await redis.zadd(`${base}x`, T0 + MINUTE, 's-old');
    const step = await hot.recordPageView(visit('vk', T0 + 2 * MINUTE, 's-new'), RULES);
    expect(step).toMatchObject({ isNew: false, seq: 3, ended: null });
    expect(step.session).toMatchObject({
      id: 's-old',
      startedAt: T0,
      landingPath: '/',
      browser: 'Firefox',
      userId: null,
      pageViews: 3,
    });
    expect(step.previousView).toMatchObject({ id: 'v-2', path: '/a', at: T0 + MINUTE });
    const [claimed] = await hot.claimExpired(T0 + 2 * MINUTE + RULES.sessionTimeoutMs + 1, RULES, 5, 1_000);
    expect(claimed).toMatchObject({ id: 's-old', pageViews: 3, lastSeenAt: T0 + 2 * MINUTE });
  });
});
