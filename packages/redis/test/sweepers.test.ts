import type { HotSession } from '@anon/core';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  deleteKeys,
  RULES,
  redisAvailable,
  sessionCount,
  T0,
  uniquePrefix,
  view,
} from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

suite('finalization with concurrent sweepers (single Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];

  beforeAll(() => {
    for (let i = 0; i < 3; i++) clients.push(connect());
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(clients[0] as Redis, prefix);
    for (const c of clients) c.disconnect();
  });

  it('1,000 idle sessions and three concurrent sweepers: each session is finalized exactly once', async () => {
    const prefix = uniquePrefix('sweepers');
    prefixes.push(prefix);
    const [writer, ...others] = clients.map((c) => redisHotStore(c, { prefix, buckets: 16 }));
    const total = 1_000;
    for (let start = 0; start < total; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const i = start + j;
          return writer?.recordPageView(
            {
              visitorKey: `vk-${i}`,
              previousVisitorKey: null,
              view: view(T0 + i),
              newSessionId: `s-${i}`,
              scopes: [],
            },
            RULES,
          );
        }),
      );
    }
    expect(await sessionCount(clients[0] as Redis, prefix)).toBe(total);

    const now = T0 + total + RULES.sessionTimeoutMs + 1;
    const finalized: string[] = [];
    const sweeper = async (hot: NonNullable<typeof writer>) => {
      for (;;) {
        const batch: HotSession[] = await hot.claimExpired(now, RULES, 37, 60_000);
        if (batch.length === 0) return;
        finalized.push(...batch.map((s) => s.id));
        await hot.complete(batch.map((s) => s.id));
      }
    };
    await Promise.all([writer, ...others].map((hot) => sweeper(hot as NonNullable<typeof writer>)));
    expect(finalized).toHaveLength(total);
    expect(new Set(finalized).size).toBe(total);
    expect(await sessionCount(clients[0] as Redis, prefix)).toBe(0);
  });

  it('a session whose sweeper died is claimable again once its lease has run out, not before', async () => {
    const prefix = uniquePrefix('lease');
    prefixes.push(prefix);
    const [a, b] = clients.map((c) => redisHotStore(c, { prefix }));
    for (let i = 0; i < 5; i++) {
      await a?.recordPageView(
        {
          visitorKey: `vk-${i}`,
          previousVisitorKey: null,
          view: view(T0 + i * 1_000),
          newSessionId: `s-${i}`,
          scopes: [],
        },
        RULES,
      );
    }
    const now = T0 + RULES.sessionTimeoutMs + 10_000;
    // Oldest first, up to the limit.
    const first = (await a?.claimExpired(now, RULES, 3, 30_000)) ?? [];
    expect(first.map((s) => s.id)).toEqual(['s-0', 's-1', 's-2']);
    // "a" dies here without completing.
    expect((await b?.claimExpired(now + 29_999, RULES, 10, 30_000))?.map((s) => s.id)).toEqual([
      's-3',
      's-4',
    ]);
    const again = (await b?.claimExpired(now + 30_000, RULES, 10, 30_000)) ?? [];
    expect(again.map((s) => s.id)).toEqual(['s-0', 's-1', 's-2']);
    // Another instance completes what it did not claim itself.
    await a?.complete(['s-0', 's-1', 's-2', 's-3', 's-4']);
    expect(await sessionCount(clients[0] as Redis, prefix)).toBe(0);
  });
});
