import {
  type AnonError,
  createTracker,
  DEFAULT_CONFIG,
  type Hasher,
  type HotStore,
  isAnonError,
  MAX_IN_FLIGHT,
  type Queue,
  type SessionStep,
  type Store,
  webCryptoHasher,
} from '@anon/core';
import { memoryHotStore, memoryQueue, memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import {
  countingIds,
  failingHotStore,
  GOOGLEBOT,
  IPHONE,
  MIN,
  memoryRig,
  navigation,
  silentLogger,
  T0,
} from './engine-fixtures.js';

const ALL = { from: '2026-01-01', to: '2026-12-31' };

describe('createTracker: config', () => {
  it('applies the defaults and keeps ports and hooks out of the config', () => {
    const { tracker } = memoryRig({ site: 'blog' });
    expect(tracker.config).toEqual({ ...DEFAULT_CONFIG, site: 'blog' });
    expect(Object.isFrozen(tracker.config)).toBe(true);
    expect('hot' in tracker.config).toBe(false);
  });

  it.each([
    [{ sessionTimeoutMs: 0 }, 'sessionTimeoutMs'],
    [{ realtimeWindowMs: -1 }, 'realtimeWindowMs'],
    [{ conversionWindowMs: Number.NaN }, 'conversionWindowMs'],
    [{ persistEvery: 0 }, 'persistEvery'],
    [{ persistEvery: 2.5 }, 'persistEvery'],
    [{ uaCacheSize: 0 }, 'uaCacheSize'],
    [{ ipMode: 'keep' as never }, 'ipMode'],
    [{ doNotTrack: 'maybe' as never }, 'doNotTrack'],
    [{ timeZone: 'Mars/Olympus_Mons' }, 'timeZone'],
    [{ site: '' }, 'site'],
    [{ excludePaths: [1] as never }, 'excludePaths'],
    [{ sweeper: { intervalMs: 0 } }, 'sweeper.intervalMs'],
    [{ worker: true, store: undefined }, 'worker'],
  ])('rejects %o with a typed invalid_config error', (options, name) => {
    let error: unknown;
    try {
      createTracker({ sweeper: false, ...options });
    } catch (e) {
      error = e;
    }
    expect(isAnonError(error, 'invalid_config')).toBe(true);
    expect((error as AnonError).message).toMatch(/^\[anon\] \[core\] /);
    expect((error as AnonError).message).toContain(name);
  });

  it('accepts an IANA time zone and counts days in it', async () => {
    const { tracker, clock, store } = memoryRig({ timeZone: 'America/Montreal' });
    clock.set(Date.UTC(2026, 0, 15, 3)); // 22:00 on the 14th in Montreal
    tracker.track(navigation('/'));
    await tracker.flush();
    expect(store.dump().pageViews[0]?.day).toBe('2026-01-14');
  });
});

describe('track()', () => {
  it('says why it did not track, and counts it', () => {
    const { tracker } = memoryRig({ optOut: (req) => req.url === '/private' });
    expect(tracker.track(navigation('/', { method: 'POST' }))).toEqual({ tracked: false, reason: 'method' });
    expect(tracker.track(navigation('/', { status: 404 }))).toEqual({ tracked: false, reason: 'status' });
    expect(tracker.track(navigation('/robots.txt'))).toEqual({ tracked: false, reason: 'excluded' });
    expect(tracker.track(navigation('/private'))).toEqual({ tracked: false, reason: 'opt-out' });
    expect(tracker.stats().skipped).toBe(4);
    expect(tracker.stats().tracked).toBe(0);
  });

  it('treats an optOut hook that throws as an opt-out, and reports it', () => {
    const logger = silentLogger();
    const { tracker } = memoryRig({
      logger,
      optOut: () => {
        throw new Error('hook bug');
      },
    });
    expect(tracker.track(navigation('/'))).toEqual({ tracked: false, reason: 'opt-out' });
    expect(tracker.stats().failures).toBe(1);
    expect(logger.lines[0]).toMatch(/^\[anon\] \[core\] the optOut hook threw/);
  });

  it('uses the view id allocated at request start when it looks like one', async () => {
    const { tracker, store } = memoryRig();
    const id = tracker.newViewId();
    expect(tracker.track(navigation('/', { viewId: id }))).toEqual({ tracked: true, viewId: id });
    const forged = tracker.track(navigation('/b', { viewId: "x'; DROP TABLE page_views; --" }));
    expect(forged.tracked).toBe(true);
    expect(forged.viewId).not.toContain('DROP');
    await tracker.flush();
    expect(
      store
        .dump()
        .pageViews.map((v) => v.id)
        .sort(),
    ).toEqual([id, forged.viewId].sort());
  });

  it('never throws, even for a request that is not a request', () => {
    const { tracker } = memoryRig();
    expect(tracker.track(null as never)).toMatchObject({ tracked: false });
    expect(tracker.track({ headers: 5 } as never)).toMatchObject({ tracked: false });
  });

  it('writes the time on page of a view when the next view of the session arrives, capped at the timeout', async () => {
    const { tracker, clock, store } = memoryRig();
    const a = tracker.track(navigation('/a')).viewId!;
    clock.advance(42_000);
    tracker.track(navigation('/b'));
    await tracker.flush();
    const metrics = store.dump().metrics;
    expect(metrics).toEqual([
      expect.objectContaining({ viewId: a, metric: 'time_on_page', value: 42_000, path: '/a' }),
    ]);
    const rows = await store.topPages(ALL);
    expect(rows.find((r) => r.path === '/a')?.avgTimeOnPageMs).toBe(42_000);
    // The last view's time is unknown (no beacon): excluded from averages, not counted as 0.
    expect(rows.find((r) => r.path === '/b')?.avgTimeOnPageMs).toBeNull();
  });

  it('writes the session summary on the first view, every Nth, and on finalization', async () => {
    const { tracker, clock, store } = memoryRig({ persistEvery: 3 });
    const stored = () => store.dump().sessions[0];
    const view = async () => {
      clock.advance(MIN);
      tracker.track(navigation('/'));
      await tracker.flush();
    };
    await view();
    expect(stored()?.pageViews).toBe(1);
    await view();
    expect(stored()?.pageViews).toBe(1);
    await view();
    expect(stored()?.pageViews).toBe(3);
    await view();
    expect(stored()).toMatchObject({ pageViews: 3, endedAt: null });
    clock.advance(31 * MIN);
    expect(await tracker.sweep()).toBe(1);
    await tracker.flush();
    expect(stored()).toMatchObject({ pageViews: 4, endedAt: T0 + 4 * MIN, durationMs: 3 * MIN });
    expect(await tracker.sweep()).toBe(0);
    expect(tracker.stats().finalized).toBe(1);
  });

  it('finalizes the previous session when a view after a long gap starts a new one', async () => {
    const { tracker, clock, store } = memoryRig();
    tracker.track(navigation('/first'));
    clock.advance(45 * MIN);
    tracker.track(navigation('/second'));
    await tracker.flush();
    const sessions = store.dump().sessions.sort((a, b) => a.startedAt - b.startedAt);
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).toMatchObject({ landingPath: '/first', endedAt: T0 });
    expect(sessions[1]).toMatchObject({ landingPath: '/second', endedAt: null });
    expect(tracker.stats().finalized).toBe(1);
  });

  it('continues a session across the daily salt rotation', async () => {
    const { tracker, clock, store } = memoryRig();
    clock.set(Date.UTC(2026, 0, 15, 23, 50));
    tracker.track(navigation('/before-midnight'));
    clock.set(Date.UTC(2026, 0, 16, 0, 10));
    tracker.track(navigation('/after-midnight'));
    await tracker.flush();
    const views = store.dump().pageViews;
    expect(new Set(views.map((v) => v.sessionId)).size).toBe(1);
    expect(views.map((v) => v.day).sort()).toEqual(['2026-01-15', '2026-01-16']);
    // A new day's visitor keys cannot be linked to the old day's, once the session is over.
    clock.set(Date.UTC(2026, 0, 16, 2));
    tracker.track(navigation('/later'));
    await tracker.flush();
    const later = store.dump().pageViews.find((v) => v.path === '/later');
    expect(later?.visitorKey).not.toBe(views[0]?.visitorKey);
  });

  it('uses a first-party id when the app gives one, stable across days', async () => {
    const { tracker, clock, store } = memoryRig({
      visitorId: (req) => (req.url.startsWith('/app') ? 'cookie-123' : null),
    });
    tracker.track(navigation('/app/a'));
    clock.advance(3 * 24 * 60 * MIN);
    tracker.track(navigation('/app/b'));
    tracker.track(navigation('/public'));
    await tracker.flush();
    const keys = store.dump().pageViews.map((v) => [v.path, v.visitorKey] as const);
    const fp = keys.filter(([path]) => path.startsWith('/app')).map(([, key]) => key);
    expect(fp[0]).toMatch(/^fp_/);
    expect(fp[1]).toBe(fp[0]);
    expect(keys.find(([path]) => path === '/public')?.[1]).not.toMatch(/^fp_/);
  });

  it('resolves country and city through the geo resolver, and survives one that throws', async () => {
    const { tracker, store } = memoryRig({
      geo: { lookup: (ip) => (ip === '203.0.113.7' ? { country: 'ca', city: 'Montréal' } : null) },
    });
    tracker.track(navigation('/'));
    await tracker.flush();
    expect(store.dump().sessions[0]).toMatchObject({ country: 'CA', city: 'Montréal' });

    const broken = memoryRig({
      geo: {
        lookup: () => {
          throw new Error('db missing');
        },
      },
    });
    expect(broken.tracker.track(navigation('/')).tracked).toBe(true);
    await broken.tracker.flush();
    expect(broken.store.dump().pageViews[0]).toMatchObject({ country: null, city: null });
    expect(broken.tracker.stats().failures).toBe(1);
  });

  it('flags a visitor over the page view rate as a bot, its whole session with it, and says why', async () => {
    const { tracker, clock, store } = memoryRig({ botMaxViewsPerMinute: 3 });
    for (let i = 0; i < 5; i++) {
      tracker.track(navigation(`/p${i}`));
      clock.advance(1000);
    }
    // A minute later the rate is back under the limit, but the session is a bot's: so is this view.
    clock.advance(60_000);
    tracker.track(navigation('/p5'));
    await tracker.flush();
    const views = store.dump().pageViews.sort((a, b) => a.seq - b.seq);
    // The first three were recorded human; the fourth flagged the session, and the store moved them to bots.
    expect(views.map((v) => v.isBot)).toEqual([true, true, true, true, true, true]);
    expect(views.every((v) => v.botReasons.join() === 'rate')).toBe(true);
    expect(store.dump().botSessions).toEqual([views[0]?.sessionId]);
    // Counted by the engine when recorded: the three views the store re-flagged later are not in it.
    expect(tracker.stats().bots).toBe(3);
    const day = views[0]?.day as string;
    expect(await store.topPages({ from: day, to: day })).toEqual([]);
    expect(await store.bots({ from: day, to: day })).toMatchObject({ views: 6, sessions: 1 });
  });

  it('records two quick views of one visitor in the order they were tracked, however long hashing takes', async () => {
    const real = webCryptoHasher();
    let calls = 0;
    // The first key takes longer to compute than the second: the hot store must still see the first view first.
    const uneven: Hasher = {
      hmac: async (key, message) => {
        const delay = calls++ === 0 ? 30 : 0;
        await new Promise((r) => setTimeout(r, delay));
        return real.hmac(key, message);
      },
    };
    const { tracker, clock, store } = memoryRig({ hasher: uneven });
    tracker.track(navigation('/landing'));
    clock.advance(1000);
    tracker.track(navigation('/second'));
    await tracker.flush();
    expect(store.dump().sessions[0]).toMatchObject({ landingPath: '/landing', startedAt: T0 });
    expect(
      store
        .dump()
        .pageViews.map((v) => [v.path, v.seq])
        .sort(),
    ).toEqual([
      ['/landing', 1],
      ['/second', 2],
    ]);
  });

  it('drops and counts page views past the in-flight bound instead of queueing unbounded work', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inner = memoryHotStore();
    const slow: HotStore = {
      ...inner,
      recordPageViews: async (inputs, rules): Promise<SessionStep[]> => {
        await gate;
        return inner.recordPageViews(inputs, rules);
      },
    };
    const { tracker } = memoryRig({ hot: slow, ids: countingIds('v') });
    let last = tracker.track(navigation('/'));
    for (let i = 1; i <= MAX_IN_FLIGHT; i++) last = tracker.track(navigation('/'));
    expect(last).toEqual({ tracked: false, reason: 'overloaded' });
    expect(tracker.stats()).toMatchObject({ tracked: MAX_IN_FLIGHT, dropped: 1 });
    release();
    await tracker.flush();
    expect(tracker.track(navigation('/')).tracked).toBe(true);
  });
});

describe('beacon()', () => {
  it('records engagement for the session’s last view: scroll depth, interactions, then time on page', async () => {
    const { tracker, clock, store } = memoryRig();
    const viewId = tracker.track(navigation('/post')).viewId!;
    await tracker.flush();
    clock.advance(20_000);
    const beaconReq = navigation('/_anon/e', {
      method: 'POST',
      extra: { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    });
    expect(tracker.beacon({ t: 'e', v: viewId, ms: 15_000, sd: 80, ix: 3 }, beaconReq)).toEqual({
      ok: true,
      status: 204,
    });
    await tracker.flush();
    const metrics = () =>
      store
        .dump()
        .metrics.map((m) => [m.metric, m.value])
        .sort();
    expect(metrics()).toEqual([
      ['interactions', 3],
      ['scroll_depth', 80],
    ]);
    clock.advance(31 * MIN);
    await tracker.sweep();
    await tracker.flush();
    expect(metrics()).toContainEqual(['time_on_page', 15_000]);
    const row = (await store.topPages(ALL))[0];
    expect(row).toMatchObject({ path: '/post', avgTimeOnPageMs: 15_000, avgScrollDepth: 80 });
  });

  it('ignores engagement for a view that is no longer the session’s last', async () => {
    const { tracker, store } = memoryRig();
    const first = tracker.track(navigation('/a')).viewId!;
    tracker.track(navigation('/b'));
    await tracker.flush();
    tracker.beacon(JSON.stringify({ t: 'e', v: first, sd: 50 }), navigation('/_anon/e', { method: 'POST' }));
    await tracker.flush();
    expect(store.dump().metrics.map((m) => m.metric)).toEqual(['time_on_page']);
  });

  it('finds the session under yesterday’s key when engagement arrives just after the salt rotation', async () => {
    const { tracker, clock, store } = memoryRig();
    clock.set(Date.UTC(2026, 0, 15, 23, 58));
    const viewId = tracker.track(navigation('/late-read')).viewId!;
    await tracker.flush();
    clock.set(Date.UTC(2026, 0, 16, 0, 4));
    tracker.beacon({ t: 'e', v: viewId, ms: 360_000, sd: 100 }, navigation('/_anon/e', { method: 'POST' }));
    await tracker.flush();
    expect(store.dump().metrics).toEqual([
      expect.objectContaining({ viewId, metric: 'scroll_depth', value: 100, day: '2026-01-15' }),
    ]);
  });

  it('tracks an SPA navigation with the beacon’s url and referrer, and answers the new view’s id', async () => {
    const { tracker, store } = memoryRig({ routes: ['/posts/:id'] });
    const first = tracker.track(navigation('/posts/1')).viewId!;
    const req = navigation('/_anon/e', {
      method: 'POST',
      extra: { referer: 'https://blog.example/posts/1' },
    });
    const answer = tracker.beacon(
      { t: 'p', v: first, u: '/posts/2?utm_source=mail', r: 'https://news.example/item' },
      req,
    );
    expect(answer).toMatchObject({ ok: true, status: 200 });
    await tracker.flush();
    const spa = store.dump().pageViews.find((v) => v.id === answer.viewId);
    expect(spa).toMatchObject({
      path: '/posts/:id',
      url: '/posts/2?utm_source=mail',
      referrerHost: 'news.example',
      utmSource: 'mail',
      seq: 2,
    });
    // Engagement for the SPA view finds it: it is now the session's last view.
    tracker.beacon({ t: 'e', v: answer.viewId, sd: 100 }, req);
    await tracker.flush();
    expect(store.dump().metrics.find((m) => m.viewId === answer.viewId)).toMatchObject({ value: 100 });
  });

  it('counts an SPA navigation under the app router’s pattern a binding passes, after the routes option', async () => {
    const { tracker, store } = memoryRig({ routes: ['/docs/*'] });
    const req = navigation('/_anon/e', { method: 'POST' });
    const routeOf = (path: string) =>
      path.startsWith('/posts/')
        ? '/posts/:id'
        : path === '/boom'
          ? (null as unknown as string).trim()
          : null;
    let last = tracker.track(navigation('/')).viewId!;
    const paths: string[] = [];
    for (const url of ['/posts/7', '/docs/intro', '/boom', '/about']) {
      const answer = tracker.beacon({ t: 'p', v: last, u: url }, req, { routeOf });
      expect(answer).toMatchObject({ ok: true, status: 200 });
      last = answer.viewId!;
      await tracker.flush();
      paths.push(store.dump().pageViews.find((v) => v.id === last)!.path);
    }
    // The `routes` option wins where it matches; a matcher that throws counts the navigation by its path.
    expect(paths).toEqual(['/posts/:id', '/docs/*', '/boom', '/about']);
  });

  it('refuses navigation beacons that do not continue the visitor’s last view: forged views are not counted', async () => {
    const { tracker, store } = memoryRig();
    const real = tracker.track(navigation('/')).viewId!;
    const beaconReq = (ua: string) => navigation('/_anon/e', { method: 'POST', ua });
    // A visitor with no live session (a rotating user agent), and a stale view id of a real visitor.
    tracker.beacon({ t: 'p', v: real, u: '/forged-1' }, beaconReq('Mozilla/5.0 (Forged 1)'));
    const next = tracker.beacon(
      { t: 'p', v: real, u: '/real-next' },
      navigation('/_anon/e', { method: 'POST' }),
    );
    tracker.beacon({ t: 'p', v: real, u: '/stale' }, navigation('/_anon/e', { method: 'POST' }));
    await tracker.flush();
    expect(
      store
        .dump()
        .pageViews.map((v) => v.path)
        .sort(),
    ).toEqual(['/', '/real-next']);
    expect(next.viewId).toBeDefined();
    expect(tracker.stats().rejected).toBe(2);
  });

  it('answers 400 for a malformed beacon and 413 for an oversized one, without throwing', () => {
    const { tracker } = memoryRig();
    const req = navigation('/_anon/e', { method: 'POST' });
    const bad = tracker.beacon('{not json', req);
    expect(bad).toMatchObject({ ok: false, status: 400 });
    expect(bad.error).toMatch(/^\[anon\]/);
    expect(tracker.beacon({ t: 'x' }, req)).toMatchObject({ ok: false, status: 400 });
    expect(tracker.beacon('x'.repeat(10_000), req)).toMatchObject({ ok: false, status: 413 });
  });
});

describe('activeVisitors()', () => {
  it('counts distinct human visitors in the window, overall, per page and per scope', async () => {
    const { tracker, clock } = memoryRig();
    tracker.track(navigation('/a', { scope: 'community:montreal' }));
    tracker.track(navigation('/a', { ip: '198.51.100.1', ua: IPHONE }));
    tracker.track(navigation('/b', { ip: '198.51.100.2', ua: GOOGLEBOT }));
    await tracker.flush();
    expect(await tracker.activeVisitors()).toMatchObject({ total: 2 });
    expect(await tracker.activeVisitors('page:/a')).toMatchObject({ total: 2 });
    expect(await tracker.activeVisitors('page:/b')).toMatchObject({ total: 0 });
    expect(await tracker.activeVisitors('community:montreal')).toMatchObject({ total: 1 });
    clock.advance(5 * MIN + 1);
    expect(await tracker.activeVisitors()).toMatchObject({ total: 0 });
  });

  it('rejects with a typed error when the hot store is down', async () => {
    const { tracker } = memoryRig({ hot: failingHotStore() });
    await expect(tracker.activeVisitors()).rejects.toSatisfy((e) => isAnonError(e, 'hot_store_failed'));
    await expect(tracker.sweep()).rejects.toSatisfy((e) => isAnonError(e, 'hot_store_failed'));
  });
});

describe('identify()', () => {
  it('links the live session on login without converting', async () => {
    const { tracker, store } = memoryRig();
    tracker.track(navigation('/'));
    await tracker.identify(navigation('/login', { method: 'POST' }), 'u9', 'login');
    await tracker.flush();
    expect(store.dump().sessions[0]?.userId).toBe('u9');
    expect(store.dump().conversions).toEqual([]);
  });

  it('never rejects, whatever it is given', async () => {
    const { tracker } = memoryRig({ hot: failingHotStore() });
    await expect(tracker.identify(navigation('/'), '', 'signup')).resolves.toBeUndefined();
    await expect(tracker.identify(navigation('/'), 'u1', 'bogus' as never)).resolves.toBeUndefined();
    await expect(tracker.identify(navigation('/'), 'u1', 'signup')).resolves.toBeUndefined();
    expect(tracker.stats().failures).toBe(3);
  });
});

describe('worker, flush and close', () => {
  it('leaves the queue alone when worker is false', async () => {
    const store = memoryStore();
    const queue = memoryQueue();
    const tracker = createTracker({ store, queue, worker: false, sweeper: false, logger: silentLogger() });
    tracker.track(navigation('/'));
    await new Promise((r) => setTimeout(r, 30));
    expect(store.dump().pageViews).toEqual([]);
    expect(tracker.stats().queueDepth).toBeGreaterThan(0);
    // Another process's worker would drain it:
    const handled: string[] = [];
    const consumer = queue.consume(async (batch) => {
      handled.push(...batch.events.map((e) => e.type));
    });
    await queue.flush();
    expect(handled).toEqual(['pageview', 'session']);
    await consumer.stop();
    await tracker.close();
  });

  it('retries a batch the store failed to write, and writes it once', async () => {
    const inner = memoryStore();
    let failures = 1;
    const flaky: Store = {
      ...inner,
      write: async (batch) => {
        if (failures-- > 0) throw new Error('connection reset');
        return inner.write(batch);
      },
    };
    const { tracker } = memoryRig({ store: flaky });
    tracker.track(navigation('/'));
    await tracker.flush();
    expect(inner.dump().pageViews).toHaveLength(1);
    expect(tracker.stats()).toMatchObject({ failures: 1, written: 2 });
  });

  it('finalizes the live sessions of an in-process hot store on close, so none is lost with the process', async () => {
    const { tracker, clock, store } = memoryRig();
    for (let visitor = 0; visitor < 3; visitor++) {
      for (const path of ['/', '/a', '/b']) {
        tracker.track(navigation(path, { ip: `198.51.100.${visitor}` }));
        clock.advance(1_000);
      }
    }
    await tracker.close();
    const sessions = store.dump().sessions;
    expect(sessions).toHaveLength(3);
    expect(sessions.every((s) => s.pageViews === 3 && s.endedAt === s.lastSeenAt)).toBe(true);
    expect(tracker.stats().finalized).toBe(3);
  });

  it('refuses new events after close, and close is idempotent', async () => {
    const { tracker, store } = memoryRig();
    tracker.track(navigation('/'));
    const closing = tracker.close();
    expect(tracker.close()).toBe(closing);
    await closing;
    expect(store.dump().pageViews).toHaveLength(1);
    expect(tracker.track(navigation('/'))).toEqual({ tracked: false, reason: 'closed' });
    expect(tracker.beacon({ t: 'p', u: '/' }, navigation('/'))).toMatchObject({ ok: false });
    await expect(tracker.identify(navigation('/'), 'u1', 'signup')).resolves.toBeUndefined();
  });

  it('keeps going when a queue breaks its contract and throws on enqueue', async () => {
    const inner = memoryQueue();
    const throwing: Queue = {
      ...inner,
      enqueue: () => {
        throw new Error('broken queue');
      },
    };
    const { tracker } = memoryRig({ queue: throwing });
    expect(tracker.track(navigation('/')).tracked).toBe(true);
    await tracker.flush();
    expect(tracker.stats()).toMatchObject({ dropped: 2, failures: 1 });
  });

  it('reports a close that could not finish cleanly, after doing the rest', async () => {
    const inner = memoryQueue();
    const stuck: Queue = {
      ...inner,
      close: async () => {
        throw new Error('cannot close');
      },
    };
    const hot = memoryHotStore();
    const { tracker, store } = memoryRig({ queue: stuck, hot });
    tracker.track(navigation('/'));
    await expect(tracker.close()).rejects.toSatisfy((e) => isAnonError(e, 'closed'));
    expect(store.dump().pageViews).toHaveLength(1);
  });

  it('does not identify a visitor who opted out or sent Do Not Track', async () => {
    const { tracker, store } = memoryRig({
      optOut: (req) => req.url === '/opt-out',
    });
    tracker.track(navigation('/'));
    await tracker.identify(navigation('/opt-out', { method: 'POST' }), 'u1', 'signup');
    await tracker.identify(navigation('/signup', { method: 'POST', extra: { dnt: '1' } }), 'u2', 'signup');
    await tracker.flush();
    expect(store.dump().conversions).toEqual([]);
    expect(store.dump().sessions[0]?.userId).toBeNull();
  });

  it('runs the sweeper on its own timer', async () => {
    const { tracker, clock, store } = memoryRig({ sweeper: { intervalMs: 10 }, sessionTimeoutMs: 1000 });
    tracker.track(navigation('/'));
    await tracker.flush();
    clock.advance(2000);
    await new Promise((r) => setTimeout(r, 60));
    await tracker.flush();
    expect(store.dump().sessions[0]?.endedAt).toBe(T0);
    await tracker.close();
  });

  it('runs with every default port', async () => {
    const tracker = createTracker({ store: memoryStore(), sweeper: false, logger: silentLogger() });
    expect(tracker.track(navigation('/')).tracked).toBe(true);
    await tracker.flush();
    expect(tracker.stats()).toMatchObject({ tracked: 1, written: 2, failures: 0 });
    expect(await tracker.activeVisitors()).toMatchObject({ total: 1 });
    await tracker.close();
  });
});
