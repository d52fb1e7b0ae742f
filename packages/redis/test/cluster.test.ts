import { redisHotStore, redisStreamQueue } from '@anon/redis';
import { hotStoreContract, queueContract } from '@anon/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyLayout } from '../src/keys.js';
import {
  clusterBinariesAvailable,
  deleteKeys,
  hotStoreHarness,
  keysWithoutExpiry,
  RULES,
  sessionCount,
  startCluster,
  T0,
  type TestCluster,
  uniquePrefix,
  view,
} from './support.js';

const cluster: TestCluster | null = clusterBinariesAvailable() ? await startCluster() : null;

if (cluster !== null) {
  const clients: Cluster[] = [];
  const client = async (): Promise<Cluster> => {
    const c = await cluster.connect();
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster.stop();
  }, 60_000);

  hotStoreContract('redis (three-master cluster)', async () =>
    hotStoreHarness(await client(), await client(), uniquePrefix('cluster-hot')),
  );

  queueContract(
    'redis streams (three-master cluster)',
    async () => {
      const prefix = uniquePrefix('cluster-queue');
      const options = { stream: `${prefix}events`, claimIdleMs: 1_000, blockMs: 200, bufferSize: 1_000 };
      const main = await client();
      const queues = [redisStreamQueue(main, options)];
      return {
        queue: queues[0] as ReturnType<typeof redisStreamQueue>,
        peer: async () => {
          const peer = redisStreamQueue(await client(), options);
          queues.push(peer);
          return peer;
        },
        cleanup: async () => {
          await Promise.all(queues.map((q) => q.close()));
          await deleteKeys(main, prefix);
        },
      };
    },
    { capacity: 1_000 },
  );

  describe('redisHotStore on a three-master cluster', () => {
    it('spreads visitors over every master and sends one EVALSHA per page view', async () => {
      const prefix = uniquePrefix('cluster-rt');
      const redis = await client();
      const observer = await client();
      const hot = redisHotStore(redis, { prefix });
      const record = (i: number) =>
        hot.recordPageView(
          {
            visitorKey: `vk-${i % 40}`,
            previousVisitorKey: null,
            view: view(T0 + i * 1_000),
            newSessionId: `s-${i}`,
            scopes: ['page:/', 'community:montreal'],
          },
          RULES,
        );
      // Load the script on every master first (EVALSHA → NOSCRIPT → EVAL happens once per node).
      for (let i = 0; i < 40; i++) await record(i);

      const local = new Set(
        redis.nodes().map((n) => (n as unknown as { stream: { localPort: number } }).stream.localPort),
      );
      const seen: { node: number; command: string }[] = [];
      const monitors = await Promise.all(observer.nodes('master').map((node) => node.monitor()));
      for (const [node, monitor] of monitors.entries()) {
        monitor.on('monitor', (_t: string, args: string[], source: string) => {
          const port = Number(source.split(':').pop());
          if (local.has(port)) seen.push({ node, command: String(args[0]).toLowerCase() });
        });
      }
      await Promise.all(observer.nodes('master').map((n) => n.ping()));
      const views = 120;
      for (let i = 40; i < 40 + views; i++) await record(i);
      await new Promise((r) => setTimeout(r, 200));
      for (const m of monitors) m.disconnect();

      const evalshas = seen.filter((s) => s.command === 'evalsha');
      expect(evalshas).toHaveLength(views);
      expect(
        seen.filter((s) => s.command !== 'evalsha' && s.command !== 'cluster' && s.command !== 'ping'),
      ).toEqual([]);
      // Every master took a share of the visitors.
      expect(new Set(evalshas.map((s) => s.node)).size).toBe(3);
      expect(await hot.activeVisitors(T0 + 160_000, 5 * 60_000)).toMatchObject({ total: 40 });
      expect(await hot.activeVisitors(T0 + 160_000, 5 * 60_000, 'community:montreal')).toMatchObject({
        total: 40,
      });
      await deleteKeys(redis, prefix);
    });

    it('a batch is one pipeline per master and one script per shard group (INFO commandstats)', async () => {
      const prefix = uniquePrefix('cluster-batch');
      const redis = await client();
      const layout = new KeyLayout(prefix, 64);
      const hot = redisHotStore(redis, { prefix });
      let n = 0;
      const batchOf = (size: number, visitors: number) =>
        Array.from({ length: size }, () => {
          n++;
          return {
            visitorKey: `vk-${n % visitors}`,
            previousVisitorKey: null,
            view: view(T0 + n * 100),
            newSessionId: `s-${n}`,
            scopes: ['page:/', 'community:montreal'],
          };
        });
      // Load the script on every master's connection first (the first use of a script there is an EVAL).
      await hot.recordPageViews(batchOf(400, 400), RULES);
      const masters = redis.nodes('master');
      const scriptCalls = async (): Promise<{ scripts: number; other: number }> => {
        let scripts = 0;
        let other = 0;
        for (const node of masters) {
          const info = await node.info('commandstats');
          for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
            if (name === 'evalsha' || name === 'eval') scripts += Number(calls);
            else if (name !== 'info' && !String(name).startsWith('cluster')) other += Number(calls);
          }
        }
        return { scripts, other };
      };
      const lines: string[] = [];
      for (const [size, visitors] of [
        [10, 10],
        [50, 50],
        [200, 200],
        [500, 500],
        [500, 40],
      ] as const) {
        const batch = batchOf(size, visitors);
        const shards = new Set(batch.map((b) => layout.bucketOf(b.visitorKey))).size;
        const before = await scriptCalls();
        const steps = await hot.recordPageViews(batch, RULES);
        const after = await scriptCalls();
        expect(steps).toHaveLength(size);
        expect(after.scripts - before.scripts).toBe(shards);
        // commandstats also counts the commands the scripts run inside the server: reported, not sent.
        const inside = (after.other - before.other) / size;
        lines.push(
          `batch ${size} (${visitors} visitors): ${shards} scripts, ${(shards / size).toFixed(3)}/view (${inside.toFixed(1)} commands inside scripts per view)`,
        );
        if (size >= 200) expect(shards / size).toBeLessThan(0.35);
      }
      console.info(`[anon] [redis] commands per view, three-master Cluster: ${lines.join('; ')}`);
      await deleteKeys(redis, prefix);
    });

    it('a batch after a salt rotation moves sessions across slots, each exactly once', async () => {
      const prefix = uniquePrefix('cluster-batch-move');
      const redis = await client();
      const layout = new KeyLayout(prefix, 64);
      const hot = redisHotStore(redis, { prefix });
      const old = Array.from({ length: 30 }, (_, i) => `old-${i}`);
      const first = await hot.recordPageViews(
        old.map((k, i) => ({
          visitorKey: k,
          previousVisitorKey: null,
          view: view(T0 + i),
          newSessionId: `s-${i}`,
          scopes: [],
        })),
        RULES,
      );
      // Each visitor comes back twice in one batch under today's key, naming yesterday's.
      const batch = [0, 1].flatMap((round) =>
        old.map((k, i) => ({
          visitorKey: `new-${i}`,
          previousVisitorKey: k,
          view: view(T0 + 60_000 + round * 1_000 + i),
          newSessionId: `n-${round}-${i}`,
          scopes: [],
        })),
      );
      expect(batch.some((b) => layout.bucketOf(b.visitorKey) !== layout.bucketOf(b.previousVisitorKey))).toBe(
        true,
      );
      const steps = await hot.recordPageViews(batch, RULES);
      steps.forEach((step, j) => {
        const i = j % old.length;
        expect(step.isNew).toBe(false);
        expect(step.seq).toBe(j < old.length ? 2 : 3);
        expect(step.session.id).toBe(first[i]?.session.id);
        expect(step.session.visitorKey).toBe(`new-${i}`);
      });
      expect(await sessionCount(redis, prefix)).toBe(old.length);
      await deleteKeys(redis, prefix);
    });

    it('a session moves to a visitor key in another slot after a salt rotation', async () => {
      const prefix = uniquePrefix('cluster-move');
      const redis = await client();
      const layout = new KeyLayout(prefix, 64);
      let other = 0;
      while (layout.bucketOf(`new-${other}`) === layout.bucketOf('old')) other++;
      const hot = redisHotStore(redis, { prefix });
      const first = await hot.recordPageView(
        {
          visitorKey: 'old',
          previousVisitorKey: null,
          view: view(T0, { path: '/a' }),
          newSessionId: 's-1',
          scopes: [],
        },
        RULES,
      );
      const moved = await hot.recordPageView(
        {
          visitorKey: `new-${other}`,
          previousVisitorKey: 'old',
          view: view(T0 + 60_000),
          newSessionId: 's-2',
          scopes: [],
        },
        RULES,
      );
      expect(moved).toMatchObject({ isNew: false, seq: 2 });
      expect(moved.session).toMatchObject({
        id: first.session.id,
        visitorKey: `new-${other}`,
        landingPath: '/a',
      });
      expect(await sessionCount(redis, prefix)).toBe(1);
      const claimed = await hot.claimExpired(T0 + 60_000 + RULES.sessionTimeoutMs + 1, RULES, 10, 60_000);
      expect(claimed.map((s) => s.id)).toEqual(['s-1']);
      await hot.complete(['s-1']);
      expect(await sessionCount(redis, prefix)).toBe(0);
      expect(await keysWithoutExpiry(redis, prefix)).toEqual([]);
      await deleteKeys(redis, prefix);
    });
  });
} else {
  describe.skip('Redis Cluster (redis-server not installed)', () => {});
}

export type { Redis };
