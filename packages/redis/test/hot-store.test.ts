import { spawn } from 'node:child_process';
import { AnonError, type HotStore, isAnonError, type SaltPair } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import { fitTo, HOSTILE_STRINGS, waitFor } from '@anon/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterBinariesAvailable,
  connect,
  deleteKeys,
  freePort,
  keysWithoutExpiry,
  MINUTE,
  RedisProxy,
  RULES,
  redisAvailable,
  sessionCount,
  T0,
  uniquePrefix,
  view,
} from './support.js';

const available = await redisAvailable();
const suite = available ? describe : describe.skip;

suite('redisHotStore on a single Redis', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const fresh = (name: string, buckets?: number): { hot: HotStore; prefix: string } => {
    const prefix = uniquePrefix(`hot-${name}`);
    prefixes.push(prefix);
    return { hot: redisHotStore(redis, { prefix, ...(buckets === undefined ? {} : { buckets }) }), prefix };
  };

  const extra: Redis[] = [];
  /** Another connection, as another app instance has; closed after the file. */
  const connectOnce = (): Redis => {
    const c = connect();
    extra.push(c);
    return c;
  };

  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis.disconnect();
    for (const c of extra) c.disconnect();
  });

  it('a visitor reads three pages in one session, then comes back after the timeout to a new one', async () => {
    const { hot } = fresh('story');
    const input = (at: number, path: string, sid: string) => ({
      visitorKey: 'vk-1',
      previousVisitorKey: null,
      view: view(at, { path }),
      newSessionId: sid,
      scopes: [],
    });
    const first = await hot.recordPageView(input(T0, '/', 's-1'), RULES);
    expect(first).toMatchObject({ isNew: true, seq: 1, persist: true, ended: null, previousView: null });
    const second = await hot.recordPageView(input(T0 + MINUTE, '/posts/:id', 's-2'), RULES);
    expect(second).toMatchObject({ isNew: false, seq: 2, persist: false });
    expect(second.session.id).toBe('s-1');
    expect(second.previousView).toMatchObject({ path: '/', at: T0, timeOnPageMs: MINUTE });
    const third = await hot.recordPageView(input(T0 + 3 * MINUTE, '/about', 's-3'), RULES);
    expect(third.session).toMatchObject({ id: 's-1', pageViews: 3, landingPath: '/', exitPath: '/about' });

    const later = await hot.recordPageView(
      input(T0 + 3 * MINUTE + RULES.sessionTimeoutMs + 1, '/', 's-4'),
      RULES,
    );
    expect(later.isNew).toBe(true);
    expect(later.session.id).toBe('s-4');
    expect(later.ended).toMatchObject({
      id: 's-1',
      pageViews: 3,
      exitPath: '/about',
      lastSeenAt: T0 + 3 * MINUTE,
    });
    // The ended session left the expiry index: no sweeper gets it too.
    const claimed = await hot.claimExpired(T0 + 10 * 24 * 60 * MINUTE, RULES, 10, 60_000);
    expect(claimed.map((s) => s.id)).toEqual(['s-4']);
  });

  it('two simultaneous first views of one visitor make one session', async () => {
    const { hot } = fresh('race');
    const steps = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        hot.recordPageView(
          {
            visitorKey: 'vk-race',
            previousVisitorKey: null,
            view: view(T0),
            newSessionId: `s-${i}`,
            scopes: [],
          },
          RULES,
        ),
      ),
    );
    expect(new Set(steps.map((s) => s.session.id)).size).toBe(1);
    expect(steps.filter((s) => s.isNew)).toHaveLength(1);
    expect(steps.map((s) => s.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('a session continues across a salt rotation under the new visitor key', async () => {
    const { hot, prefix } = fresh('rotation');
    await hot.recordPageView(
      {
        visitorKey: 'old-key',
        previousVisitorKey: null,
        view: view(T0, { path: '/a' }),
        newSessionId: 's-1',
        scopes: [],
      },
      RULES,
    );
    const step = await hot.recordPageView(
      {
        visitorKey: 'new-key',
        previousVisitorKey: 'old-key',
        view: view(T0 + MINUTE),
        newSessionId: 's-2',
        scopes: [],
      },
      RULES,
    );
    expect(step).toMatchObject({ isNew: false, seq: 2 });
    expect(step.session).toMatchObject({ id: 's-1', visitorKey: 'new-key', landingPath: '/a' });
    expect(await hot.identify('old-key', 'u-1', T0)).toBeNull();
    expect(await hot.identify('new-key', 'u-1', T0)).toMatchObject({ id: 's-1', userId: 'u-1' });
    expect(await sessionCount(redis, prefix)).toBe(1);
  });

  it('a claimed session belongs to its sweeper: the next view starts a new session and ends nothing', async () => {
    const { hot } = fresh('claimed');
    const rec = (at: number, sid: string) =>
      hot.recordPageView(
        { visitorKey: 'vk', previousVisitorKey: null, view: view(at), newSessionId: sid, scopes: [] },
        RULES,
      );
    await rec(T0, 's-1');
    const sweepAt = T0 + RULES.sessionTimeoutMs + 1;
    expect((await hot.claimExpired(sweepAt, RULES, 10, 60_000)).map((s) => s.id)).toEqual(['s-1']);
    // Claimed sessions are returned to no other caller while the lease runs.
    expect(await hot.claimExpired(sweepAt + 1, RULES, 10, 60_000)).toEqual([]);
    const next = await rec(sweepAt + 5, 's-2');
    expect(next).toMatchObject({ isNew: true, ended: null });
    // A lapsed lease makes it claimable again, whatever happened to the visitor since.
    const again = await hot.claimExpired(sweepAt + 60_000, RULES, 10, 60_000);
    expect(again.map((s) => s.id)).toEqual(['s-1']);
    await hot.complete(['s-1']);
    // Completing the old session leaves the visitor's new one alone.
    expect(await hot.identify('vk', 'u', sweepAt)).toMatchObject({ id: 's-2' });
  });

  it('engage records the largest engaged time of the last view only', async () => {
    const { hot } = fresh('engage');
    const v1 = view(T0, { path: '/a' });
    const v2 = view(T0 + 1_000, { path: '/b' });
    for (const [v, sid] of [
      [v1, 's-1'],
      [v2, 's-x'],
    ] as const) {
      await hot.recordPageView(
        { visitorKey: 'vk', previousVisitorKey: null, view: v, newSessionId: sid, scopes: [] },
        RULES,
      );
    }
    const later = T0 + 11_000; // 10 s after v2
    expect(await hot.engage('vk', v1.id, 500, later)).toBeNull();
    expect(await hot.engage('vk', v2.id, 700, later)).toEqual({
      sessionId: 's-1',
      day: v2.day,
      at: v2.at,
      path: '/b',
      isBot: false,
    });
    await hot.engage('vk', v2.id, 300, later);
    await hot.engage('vk', v2.id, null, later);
    const [claimed] = await hot.claimExpired(T0 + 1_000 + RULES.sessionTimeoutMs + 1, RULES, 1, 1_000);
    expect(claimed?.lastEngagedMs).toBe(700);
  });

  it('engage keeps no more engaged time than has passed since the view', async () => {
    const { hot } = fresh('engage-cap');
    const v = view(T0, { path: '/a' });
    await hot.recordPageView(
      { visitorKey: 'vk', previousVisitorKey: null, view: v, newSessionId: 's-1', scopes: [] },
      RULES,
    );
    // A beacon 0.2 s after the view claims a day.
    await hot.engage('vk', v.id, 86_400_000, T0 + 200);
    await hot.engage('vk', v.id, 150, T0 + 300);
    const [claimed] = await hot.claimExpired(T0 + RULES.sessionTimeoutMs + 1, RULES, 1, 1_000);
    expect(claimed?.lastEngagedMs).toBe(200);
    await expect(hot.engage('vk', v.id, Number.NaN, T0)).rejects.toSatisfy((e) =>
      isAnonError(e, 'invalid_input'),
    );
  });

  it('counts active visitors overall and per scope, without bots, in the window', async () => {
    const { hot } = fresh('realtime');
    const rec = (vk: string, at: number, scopes: string[], isBot = false) =>
      hot.recordPageView(
        {
          visitorKey: vk,
          previousVisitorKey: null,
          view: view(at, { isBot }),
          newSessionId: `s-${vk}`,
          scopes,
        },
        RULES,
      );
    await rec('a', T0, ['page:/', 'community:montreal']);
    await rec('b', T0 + 1_000, ['page:/']);
    await rec('a', T0 + 2_000, ['page:/']);
    await rec('bot', T0 + 2_000, ['page:/'], true);
    const now = T0 + 3_000;
    expect(await hot.activeVisitors(now, 5 * MINUTE)).toMatchObject({ total: 2 });
    expect(await hot.activeVisitors(now, 5 * MINUTE, 'page:/')).toMatchObject({ total: 2 });
    expect(await hot.activeVisitors(now, 5 * MINUTE, 'community:montreal')).toMatchObject({ total: 1 });
    expect(await hot.activeVisitors(now, 5 * MINUTE, 'community:quebec')).toMatchObject({ total: 0 });
    expect(await hot.activeVisitors(now, 1_500)).toMatchObject({ total: 1 });
    expect(await hot.activeVisitors(T0 + 5 * MINUTE + 1_000, 5 * MINUTE)).toMatchObject({ total: 1 });
  });

  it('flags a visitor past the per-minute rate as a bot and keeps it out of real time', async () => {
    const { hot } = fresh('rate');
    const rules = { ...RULES, botMaxViewsPerMinute: 3 };
    const steps = [];
    for (let i = 0; i < 5; i++) {
      steps.push(
        await hot.recordPageView(
          {
            visitorKey: 'fast',
            previousVisitorKey: null,
            view: view(T0 + i * 100),
            newSessionId: 's',
            scopes: [],
          },
          rules,
        ),
      );
    }
    expect(steps.map((s) => s.viewsThisMinute)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.map((s) => s.isBot)).toEqual([false, false, false, true, true]);
    expect(steps.map((s) => s.becameBot)).toEqual([false, false, false, true, false]);
    expect(steps[4]?.session.isBot).toBe(true);
    // The next minute's count starts again, but the session is a bot's: so is its view, in the script's state
    // too (the beacon sees a bot view; the view marks no real-time set).
    const later = view(T0 + MINUTE);
    const nextMinute = await hot.recordPageView(
      { visitorKey: 'fast', previousVisitorKey: null, view: later, newSessionId: 's', scopes: [] },
      rules,
    );
    expect(nextMinute).toMatchObject({ viewsThisMinute: 1, isBot: true, becameBot: false });
    expect(await hot.engage('fast', later.id, null, T0 + MINUTE)).toMatchObject({ isBot: true });
    expect(await hot.activeVisitors(T0 + MINUTE, MINUTE / 2)).toEqual({
      total: 0,
      authenticated: 0,
      anonymous: 0,
    });
  });

  it('creates one salt per period for every instance, with no expiry, and deletes it 48 h after its period began', async () => {
    const { hot, prefix } = fresh('salt');
    const instances = [hot, ...Array.from({ length: 7 }, () => redisHotStore(connectOnce(), { prefix }))];
    const day = 24 * 60 * MINUTE;
    // Eight instances ask at once: one salt is created (the script is atomic), every one gets it.
    const pairs = await Promise.all(instances.map((h, i) => h.salt(T0 + i)));
    const a = pairs[0] as SaltPair;
    expect(a.current).toMatch(/^[0-9a-f]{64}$/);
    for (const pair of pairs) expect(pair).toEqual(a);
    const salts = `${prefix}salts`;
    // No TTL: under volatile-lru (or any volatile-* policy) Redis never evicts it.
    expect(await redis.pttl(salts)).toBe(-1);
    expect(await redis.hgetall(salts)).toEqual({ [String(a.period)]: a.current });

    const tomorrow = await instances[3]?.salt(T0 + day);
    expect(tomorrow).toMatchObject({ period: a.period + 1, previous: a.current });
    expect(tomorrow?.current).not.toBe(a.current);
    // Still held 47 h 59 min after its period began…
    const periodStart = a.period * day;
    expect((await hot.salt(periodStart + 2 * day - 1)).previous).toBe(a.current);
    expect(Object.keys(await redis.hgetall(salts)).sort()).toEqual([String(a.period), String(a.period + 1)]);
    // …and deleted by the first instance that asks 48 h after: only yesterday's and today's remain.
    const later = await instances[5]?.salt(periodStart + 2 * day);
    expect(later?.previous).toBe(tomorrow?.current);
    expect(await redis.hgetall(salts)).toEqual({
      [String(a.period + 1)]: tomorrow?.current,
      [String(a.period + 2)]: later?.current,
    });
    expect(await redis.pttl(salts)).toBe(-1);
    // A clock more than a day behind gets a salt that is neither kept nor shared, and deletes nothing.
    const lagging = await hot.salt(T0);
    expect([a.current, tomorrow?.current, later?.current]).not.toContain(lagging.current);
    expect(Object.keys(await redis.hgetall(salts))).toHaveLength(2);
  });

  it.skipIf(!clusterBinariesAvailable())(
    'under maxmemory with volatile-lru, Redis evicts sessions but never the salt',
    async () => {
      const port = await freePort();
      const server = spawn('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory',
        '4mb',
        '--maxmemory-policy',
        'volatile-lru',
      ]);
      const small = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
      small.on('error', () => {});
      try {
        await waitFor(async () => (await small.ping().catch(() => '')) === 'PONG', 5_000);
        const hot = redisHotStore(small);
        const salt = await hot.salt(T0);
        // Far more volatile data than fits: sessions with their TTLs, like a busy cache beside them.
        for (let i = 0; i < 40; i++) {
          await hot.recordPageViews(
            Array.from({ length: 100 }, (_, j) => ({
              visitorKey: `vk-${i}-${j}`,
              previousVisitorKey: null,
              view: view(T0 + i * 100 + j, { referrer: `https://example.com/${'x'.repeat(400)}` }),
              newSessionId: `s-${i}-${j}`,
              scopes: ['page:/'],
            })),
            RULES,
          );
        }
        const stats = await small.info('stats');
        expect(Number(/evicted_keys:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(0);
        expect(await redisHotStore(small).salt(T0 + 1_000)).toEqual(salt);
      } finally {
        small.disconnect();
        server.kill();
      }
    },
  );

  it('after Redis lost the salt, every instance moves to the one new salt (nothing cached in the adapter)', async () => {
    const { hot, prefix } = fresh('salt-lost');
    const peer = redisHotStore(connectOnce(), { prefix });
    const before = await hot.salt(T0);
    expect(await peer.salt(T0 + 1)).toEqual(before);
    await redis.del(`${prefix}salts`); // an empty restart, or a FLUSHALL
    const [x, y] = await Promise.all([hot.salt(T0 + 2), peer.salt(T0 + 3)]);
    expect(x.current).not.toBe(before.current);
    expect(y).toEqual(x);
  });

  it('leaves no key without an expiry', async () => {
    const { hot, prefix } = fresh('ttl');
    for (let i = 0; i < 20; i++) {
      await hot.recordPageView(
        {
          visitorKey: `vk-${i % 7}`,
          previousVisitorKey: i % 3 === 0 ? `old-${i}` : null,
          view: view(T0 + i * 1_000),
          newSessionId: `s-${i}`,
          scopes: ['page:/', `c:${i % 2}`],
        },
        RULES,
      );
    }
    await hot.salt(T0);
    await hot.claimExpired(T0 + RULES.sessionTimeoutMs + 30_000, RULES, 3, 60_000);
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(10);
    expect(await keysWithoutExpiry(redis, prefix)).toEqual([]);
  });

  it('rejects bad input with a typed error and never sends it as a command', async () => {
    const { hot } = fresh('input');
    const bad = { visitorKey: '', previousVisitorKey: null, view: view(T0), newSessionId: 's', scopes: [] };
    await expect(hot.recordPageView(bad, RULES)).rejects.toSatisfy((e) => isAnonError(e, 'invalid_input'));
    await expect(
      hot.recordPageView({ ...bad, visitorKey: 'x'.repeat(10_000) }, RULES),
    ).rejects.toBeInstanceOf(AnonError);
    await expect(hot.activeVisitors(T0, -1)).rejects.toSatisfy((e) => isAnonError(e, 'invalid_input'));
    // Redis syntax in values is only data.
    const odd = 'k}{ \r\nFLUSHALL\r\n*';
    const step = await hot.recordPageView(
      {
        visitorKey: odd,
        previousVisitorKey: null,
        view: view(T0, { path: '/x\r\nDEL *' }),
        newSessionId: 'id"\\',
        scopes: [odd],
      },
      RULES,
    );
    expect(step.session).toMatchObject({ id: 'id"\\', visitorKey: odd, exitPath: '/x\r\nDEL *' });
    expect(await hot.activeVisitors(T0, MINUTE, odd)).toMatchObject({ total: 1 });
    expect(() => redisHotStore(redis, { prefix: 'a{b}' })).toThrow(AnonError);
  });

  it('stores hostile request strings verbatim, as keys and as values', async () => {
    const { hot } = fresh('hostile');
    for (const [i, text] of HOSTILE_STRINGS.entries()) {
      // Visitor keys and scopes are bounded (core truncates scopes to 200); everything else is stored whole.
      const key = `${fitTo(text, 200)}:${i}`;
      const scope = fitTo(text, 200);
      const v = view(T0 + i, { path: text, referrer: text, utmSource: text, browser: text, userId: text });
      const step = await hot.recordPageView(
        {
          visitorKey: key,
          previousVisitorKey: null,
          view: v,
          newSessionId: `${fitTo(text, 200)}#${i}`,
          scopes: [scope],
        },
        RULES,
      );
      expect(step.session).toMatchObject({
        id: `${fitTo(text, 200)}#${i}`,
        visitorKey: key,
        exitPath: text,
        referrer: text,
        utmSource: text,
        userId: text,
      });
      expect(await hot.identify(key, text, T0)).toMatchObject({
        userId: text,
        landingPath: text,
        browser: text,
      });
      expect(await hot.engage(key, v.id, 1, T0)).toMatchObject({ path: text });
      expect((await hot.activeVisitors(T0 + i, MINUTE, scope)).total).toBeGreaterThanOrEqual(1);
    }
    const claimed = await hot.claimExpired(T0 + RULES.sessionTimeoutMs + 1_000, RULES, 100, 1_000);
    expect(claimed.map((x) => x.exitPath).sort()).toEqual([...HOSTILE_STRINGS].sort());
  });

  it("honours the client's keyPrefix for every key, including those its scripts build", async () => {
    const clientPrefix = uniquePrefix('client-prefix');
    prefixes.push(clientPrefix);
    const { Redis: Client } = await import('ioredis');
    const prefixed = new Client(process.env.ANON_REDIS_URL ?? 'redis://127.0.0.1:6379', {
      keyPrefix: clientPrefix,
    });
    try {
      const hot = redisHotStore(prefixed, { prefix: 'anon:' });
      await hot.salt(T0);
      await hot.recordPageView(
        {
          visitorKey: 'vk',
          previousVisitorKey: null,
          view: view(T0),
          newSessionId: 's-1',
          scopes: ['page:/'],
        },
        RULES,
      );
      expect(await hot.activeVisitors(T0, MINUTE, 'page:/')).toMatchObject({ total: 1 });
      expect(
        (await hot.claimExpired(T0 + RULES.sessionTimeoutMs + 1, RULES, 5, 1_000)).map((x) => x.id),
      ).toEqual(['s-1']);
      const keys = await redis.keys(`${clientPrefix}anon:*`);
      expect(keys.some((k) => k.includes('}:s:s-1'))).toBe(true);
      expect(keys.some((k) => k.includes('}:rt:page:/'))).toBe(true);
      expect(keys).toContain(`${clientPrefix}anon:salts`);
      await hot.complete(['s-1']);
      expect(await sessionCount(redis, `${clientPrefix}anon:`)).toBe(0);
    } finally {
      prefixed.disconnect();
    }
  });

  it('agrees with the memory reference on random sequences (one shard and many)', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('view' as const),
        visitor: fc.integer({ min: 0, max: 3 }),
        previous: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
        dt: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 40 * MINUTE })),
        path: fc.constantFrom('/', '/a', '/b'),
        isBot: fc.boolean(),
        userId: fc.option(fc.constantFrom('u1', 'u2'), { nil: null }),
        scope: fc.constantFrom(null, 's1', 's2'),
      }),
      fc.record({
        kind: fc.constant('engage' as const),
        visitor: fc.integer({ min: 0, max: 3 }),
        engaged: fc.option(fc.nat(100_000), { nil: null }),
        last: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('identify' as const), visitor: fc.integer({ min: 0, max: 3 }) }),
      fc.record({
        kind: fc.constant('claim' as const),
        limit: fc.integer({ min: 0, max: 3 }),
        complete: fc.boolean(),
        dt: fc.nat(2 * MINUTE),
      }),
      fc.record({
        kind: fc.constant('active' as const),
        scope: fc.constantFrom(undefined, 's1', 's2'),
        window: fc.constantFrom(MINUTE, 5 * MINUTE),
      }),
    );
    const rules = { ...RULES, botMaxViewsPerMinute: 4, persistEvery: 3 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 64),
        async (ops, buckets) => {
          const { hot } = fresh('property', buckets);
          const ref = memoryHotStore();
          let now = T0;
          let claimAt = T0;
          let n = 0;
          const lastView = new Map<number, string>();
          for (const o of ops) {
            if (o.kind === 'view') {
              now += o.dt;
              n++;
              const v = view(now, {
                id: `v${n}`,
                path: o.path,
                isBot: o.isBot,
                userId: o.userId,
                authenticated: o.userId !== null,
              });
              lastView.set(o.visitor, v.id);
              const input = {
                visitorKey: `k${o.visitor}`,
                previousVisitorKey: o.previous === null ? null : `k${o.previous}`,
                view: v,
                newSessionId: `s${n}`,
                scopes: o.scope === null ? [] : [o.scope],
              };
              expect(await hot.recordPageView(input, rules)).toEqual(await ref.recordPageView(input, rules));
            } else if (o.kind === 'engage') {
              const id = o.last ? (lastView.get(o.visitor) ?? 'none') : 'none';
              expect(await hot.engage(`k${o.visitor}`, id, o.engaged, now)).toEqual(
                await ref.engage(`k${o.visitor}`, id, o.engaged, now),
              );
            } else if (o.kind === 'identify') {
              expect(await hot.identify(`k${o.visitor}`, 'u9', now)).toEqual(
                await ref.identify(`k${o.visitor}`, 'u9', now),
              );
            } else if (o.kind === 'claim') {
              // Sweep times never go backwards: the memory reference settles a lapsed lease for good when it sees
              // one, Redis judges each call's `now` (they agree whenever time moves forward, as in production).
              claimAt = Math.max(claimAt, now + rules.sessionTimeoutMs + o.dt);
              const at = claimAt;
              const got = await hot.claimExpired(at, rules, o.limit, 30_000);
              expect(got).toEqual(await ref.claimExpired(at, rules, o.limit, 30_000));
              if (o.complete) {
                await hot.complete(got.map((s) => s.id));
                await ref.complete(got.map((s) => s.id));
              }
            } else {
              expect(await hot.activeVisitors(now, o.window, o.scope)).toEqual(
                await ref.activeVisitors(now, o.window, o.scope),
              );
            }
          }
        },
      ),
      { numRuns: Number(process.env.PROP_RUNS ?? 60) },
    );
  });

  it('rejects at once with hot_store_failed while Redis is down, and works again when it is back', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    const { Redis: Client } = await import('ioredis');
    const client = new Client(proxy.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    try {
      await new Promise((r) => client.once('ready', r));
      const prefix = uniquePrefix('hot-down');
      prefixes.push(prefix);
      const hot = redisHotStore(client, { prefix, timeoutMs: 500 });
      const input = {
        visitorKey: 'vk',
        previousVisitorKey: null,
        view: view(T0),
        newSessionId: 's-1',
        scopes: [],
      };
      expect((await hot.recordPageView(input, RULES)).isNew).toBe(true);
      await proxy.down();
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await expect(hot.recordPageView({ ...input, view: view(T0 + 1) }, RULES)).rejects.toSatisfy((e) =>
        isAnonError(e, 'hot_store_failed'),
      );
      await expect(hot.salt(T0)).rejects.toSatisfy((e) => isAnonError(e, 'hot_store_failed'));
      expect(Date.now() - started).toBeLessThan(600);
      await proxy.up();
      await new Promise((r) => client.once('ready', r));
      expect((await hot.recordPageView({ ...input, view: view(T0 + 2) }, RULES)).seq).toBe(2);
    } finally {
      client.disconnect();
      await proxy.down();
    }
  });
});
