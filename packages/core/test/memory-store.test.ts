import { type EventBatch, isAnonError } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../src/memory/code-point-order.js';
import { batch, conversion, metric, pageView, session, T0 } from './memory-fixtures.js';

const DAY = 86_400_000;
const Q = { from: '2026-01-15', to: '2026-01-15' };

describe('memoryStore: write', () => {
  it('applies a batch once: a replayed batch id changes nothing', async () => {
    const store = memoryStore();
    const v = pageView(T0, '/a', { sessionId: 's1', visitorKey: 'k1', seq: 1 });
    const b = batch({ views: [v] }, 'batch-1');
    expect(await store.write(b)).toEqual({ applied: true, written: 1 });
    expect(await store.write(b)).toEqual({ applied: false, written: 0 });
    expect(store.dump().pageViews).toHaveLength(1);
  });

  it('inserts an event once across batches, and only a new view touches the aggregates', async () => {
    const store = memoryStore();
    const v = pageView(T0, '/a', { sessionId: 's1', visitorKey: 'k1', seq: 1 });
    await store.write(batch({ views: [v] }));
    expect(await store.write(batch({ views: [{ ...v, path: '/changed' }] }))).toEqual({
      applied: true,
      written: 0,
    });
    expect(store.dump().pageViews[0]?.path).toBe('/a');
    expect(await store.aggregates(Q)).toEqual([expect.objectContaining({ path: '/a', views: 1 })]);
  });

  it('counts views, visitors, devices and bots in the day × path row', async () => {
    const store = memoryStore();
    const views = [
      pageView(T0, '/a', { visitorKey: 'k1', authenticated: true, device: 'mobile' }),
      pageView(T0 + 1, '/a', { visitorKey: 'k1', device: 'tablet' }),
      pageView(T0 + 2, '/a', { visitorKey: 'k2' }),
      pageView(T0 + 3, '/a', { visitorKey: null }),
      pageView(T0 + 4, '/a', { visitorKey: 'bot', isBot: true, botReasons: ['user-agent'] }),
      pageView(T0 + 5, '/a', { visitorKey: 'bot', isBot: true, botReasons: ['rate'], authenticated: true }),
    ];
    await store.write(batch({ views }));
    const [row] = await store.aggregates(Q);
    expect(row).toEqual({
      day: '2026-01-15',
      path: '/a',
      views: 4,
      authenticatedViews: 1,
      anonymousViews: 3,
      uniqueVisitors: 2,
      timeOnPageSumMs: 0,
      timeOnPageCount: 0,
      scrollDepthSum: 0,
      scrollDepthCount: 0,
      interactions: 0,
      mobileViews: 1,
      desktopViews: 2,
      tabletViews: 1,
      botViews: 2,
      botAuthenticatedViews: 1,
    });
  });

  it('keeps the first write of a metric and aggregates non-bot metrics only', async () => {
    const store = memoryStore();
    const v = pageView(T0, '/a', { visitorKey: 'k1' });
    const bot = pageView(T0, '/a', { visitorKey: 'b', isBot: true });
    await store.write(
      batch({
        views: [v, bot],
        metrics: [metric(v, 'time_on_page', 4_000), metric(bot, 'scroll_depth', 50)],
      }),
    );
    const second = await store.write(
      batch({ metrics: [metric(v, 'time_on_page', 9_000), metric(v, 'scroll_depth', 80)] }),
    );
    expect(second.written).toBe(1);
    const [row] = await store.aggregates(Q);
    expect(row).toMatchObject({
      timeOnPageSumMs: 4_000,
      timeOnPageCount: 1,
      scrollDepthSum: 80,
      scrollDepthCount: 1,
    });
    expect(
      store
        .dump()
        .metrics.map((m) => `${m.viewId}:${m.metric}`)
        .sort(),
    ).toEqual([`${bot.id}:scroll_depth`, `${v.id}:scroll_depth`, `${v.id}:time_on_page`].sort());
  });

  it('aggregates equal a recomputation from the stored page views and metrics after replays', async () => {
    const store = memoryStore();
    const views = Array.from({ length: 30 }, (_, i) =>
      pageView(T0 + i * 3_600_000, `/p${i % 4}`, {
        visitorKey: `k${i % 5}`,
        isBot: i % 7 === 0,
        device: (['mobile', 'desktop', 'tablet'] as const)[i % 3],
      }),
    );
    const metrics = views.map((v, i) => metric(v, 'time_on_page', i * 100));
    const b = batch({ views, metrics });
    await store.write(b);
    await store.write(b);
    await store.write(batch({ views: views.slice(0, 10), metrics: metrics.slice(5) }));
    const all = await store.aggregates({ from: '2026-01-01', to: '2026-12-31' });
    expect(all).toEqual(recomputeAggregates(views, metrics));
  });

  it('merges session summaries monotonically, whatever their order', async () => {
    const first = session({
      id: 's1',
      startedAt: T0,
      lastSeenAt: T0 + 60_000,
      pageViews: 5,
      exitPath: '/five',
    });
    const last = {
      ...first,
      lastSeenAt: T0 + 120_000,
      pageViews: 7,
      exitPath: '/seven',
      endedAt: T0 + 120_000,
      userId: 'u1',
      landingPath: '/ignored',
    };
    const a = memoryStore();
    await a.write(batch({ sessions: [first] }));
    expect((await a.write(batch({ sessions: [last] }))).written).toBe(1);
    const b = memoryStore();
    await b.write(batch({ sessions: [last] }));
    expect((await b.write(batch({ sessions: [first] }))).written).toBe(0);

    const expected = {
      lastSeenAt: T0 + 120_000,
      endedAt: T0 + 120_000,
      pageViews: 7,
      exitPath: '/seven',
      userId: 'u1',
      durationMs: 120_000,
    };
    expect(a.dump().sessions[0]).toMatchObject({ ...expected, landingPath: '/' });
    expect(b.dump().sessions[0]).toMatchObject({ ...expected, landingPath: '/ignored' });
  });

  it('keeps the stored exit path on a tie of (lastSeenAt, pageViews)', async () => {
    const store = memoryStore();
    const s = session({ id: 's1', startedAt: T0, exitPath: '/stored' });
    await store.write(batch({ sessions: [s] }));
    await store.write(batch({ sessions: [{ ...s, exitPath: '/incoming', isBot: true }] }));
    expect(store.dump().sessions[0]).toMatchObject({ exitPath: '/stored', isBot: true });
  });

  it('links the converted sessions when a conversion is new', async () => {
    const store = memoryStore();
    const s1 = session({ id: 's1', startedAt: T0 });
    const s2 = session({ id: 's2', startedAt: T0 + 1, convertedUserId: 'earlier', convertedAt: T0 });
    await store.write(batch({ sessions: [s1, s2] }));
    const c = conversion('u1', T0 + 10, ['s1', 's2', 'not-stored'], s1);
    expect((await store.write(batch({ conversions: [c] }))).written).toBe(1);
    expect((await store.write(batch({ conversions: [{ ...c, userId: 'other' }] }))).written).toBe(0);
    const sessions = store.dump().sessions;
    expect(sessions.find((s) => s.id === 's1')).toMatchObject({
      convertedUserId: 'u1',
      convertedAt: T0 + 10,
    });
    expect(sessions.find((s) => s.id === 's2')).toMatchObject({
      convertedUserId: 'earlier',
      convertedAt: T0,
    });
    expect(store.dump().conversions.map((x) => x.userId)).toEqual(['u1']);
  });

  it('rejects a batch with an identify or unknown event before changing anything', async () => {
    const store = memoryStore();
    const v = pageView(T0, '/a');
    const withIdentify = {
      id: 'bad-1',
      events: [
        { type: 'pageview', id: v.id, view: v },
        { type: 'identify', id: 'i', identify: {} },
      ],
    } as unknown as EventBatch;
    await expect(store.write(withIdentify)).rejects.toSatisfy((e) => isAnonError(e, 'invalid_input'));
    const unknown = { id: 'bad-2', events: [{ type: 'drop table', id: 'x' }] } as unknown as EventBatch;
    await expect(store.write(unknown)).rejects.toSatisfy((e) => isAnonError(e, 'invalid_input'));
    expect(store.dump().pageViews).toEqual([]);
    // Neither batch reached the ledger: a valid retry under the same id applies.
    expect((await store.write({ id: 'bad-1', events: [] })).applied).toBe(true);
  });

  it('forgets the oldest batch ids past ledgerSize, and stays idempotent by event id', async () => {
    const store = memoryStore({ ledgerSize: 2 });
    const v = pageView(T0, '/a', { visitorKey: 'k' });
    await store.write(batch({ views: [v] }, 'b1'));
    await store.write(batch({}, 'b2'));
    await store.write(batch({}, 'b3'));
    expect(await store.write(batch({ views: [v] }, 'b1'))).toEqual({ applied: true, written: 0 });
    expect((await store.write(batch({}, 'b3'))).applied).toBe(false);
    expect((await store.aggregates(Q))[0]?.views).toBe(1);
    expect(() => memoryStore({ ledgerSize: 0 })).toThrow(/ledgerSize/);
  });

  it('hands out copies: changing a result or a written object changes nothing stored', async () => {
    const store = memoryStore();
    const s = session({ id: 's1', startedAt: T0 });
    const v = pageView(T0, '/a', { sessionId: 's1', visitorKey: 'k', seq: 1 });
    await store.write(batch({ views: [v], sessions: [s] }));
    s.pageViews = 50;
    v.botReasons.push('rate');
    const [row] = await store.aggregates(Q);
    row!.views = 1_000;
    const [found] = await store.visitorSessions(['visitor-a'], 0, T0);
    found!.exitPath = '/tampered';
    expect((await store.aggregates(Q))[0]?.views).toBe(1);
    expect(store.dump().sessions[0]).toMatchObject({ pageViews: 1, exitPath: '/' });
    expect(store.dump().pageViews[0]?.botReasons).toEqual([]);
  });
});

describe('memoryStore: visitorSessions and purge', () => {
  it('finds sessions of the given keys started in [since, until], by start', async () => {
    const store = memoryStore();
    await store.write(
      batch({
        sessions: [
          session({ id: 'late', startedAt: T0 + 2_000, visitorKey: 'k2' }),
          session({ id: 'early', startedAt: T0, visitorKey: 'k1' }),
          session({ id: 'edge', startedAt: T0 + 5_000, visitorKey: 'k1' }),
          session({ id: 'after', startedAt: T0 + 5_001, visitorKey: 'k1' }),
          session({ id: 'other', startedAt: T0 + 1_000, visitorKey: 'k3' }),
        ],
      }),
    );
    const found = await store.visitorSessions(['k1', 'k2', 'k1'], T0, T0 + 5_000);
    expect(found.map((s) => s.id)).toEqual(['early', 'late', 'edge']);
  });

  it('purges old anonymous sessions with their views and metrics, and keeps the rest', async () => {
    const store = memoryStore();
    const old = T0 - 100 * DAY;
    const anon = session({ id: 'anon', startedAt: old });
    const user = session({ id: 'user', startedAt: old, userId: 'u1' });
    const converted = session({ id: 'converted', startedAt: old });
    const recent = session({ id: 'recent', startedAt: T0 });
    const vAnon = pageView(old, '/a', { sessionId: 'anon', visitorKey: 'visitor-a', seq: 1 });
    const vUser = pageView(old, '/a', { sessionId: 'user', visitorKey: 'visitor-a', seq: 1 });
    const vDnt = pageView(old, '/a', { sessionId: null, visitorKey: null });
    const vRecent = pageView(T0, '/a', { sessionId: 'recent', visitorKey: 'visitor-a', seq: 1 });
    await store.write(
      batch({
        sessions: [anon, user, converted, recent],
        views: [vAnon, vUser, vDnt, vRecent],
        metrics: [
          metric(vAnon, 'time_on_page', 1),
          metric(vDnt, 'scroll_depth', 10),
          metric(vUser, 'interactions', 2),
        ],
        conversions: [conversion('u2', old + 1_000, ['converted'], converted)],
      }),
    );
    const aggregatesBefore = await store.aggregates({ from: '2025-01-01', to: '2026-12-31' });

    const dryRun = await store.purge(T0 - 90 * DAY, { dryRun: true });
    expect(dryRun).toEqual({ sessions: 1, pageViews: 2, metrics: 2 });
    expect(store.dump().sessions).toHaveLength(4);
    expect(store.dump().pageViews).toHaveLength(4);
    expect(store.dump().metrics).toHaveLength(3);

    expect(await store.purge(T0 - 90 * DAY)).toEqual(dryRun);
    const left = store.dump();
    expect(left.sessions.map((s) => s.id).sort()).toEqual(['converted', 'recent', 'user']);
    expect(left.pageViews.map((v) => v.id).sort()).toEqual([vRecent.id, vUser.id].sort());
    expect(left.metrics.map((m) => m.viewId)).toEqual([vUser.id]);
    expect(left.conversions).toHaveLength(1);
    expect(await store.aggregates({ from: '2025-01-01', to: '2026-12-31' })).toEqual(aggregatesBefore);
    expect(await store.purge(T0 - 90 * DAY)).toEqual({ sessions: 0, pageViews: 0, metrics: 0 });
  });
});

describe('memoryStore: reports', () => {
  async function seeded() {
    const store = memoryStore();
    const sessions = [
      session({
        id: 's1',
        startedAt: T0,
        landingPath: '/',
        pageViews: 3,
        lastSeenAt: T0 + 60_000,
        referrerHost: 'b.example',
      }),
      session({
        id: 's2',
        startedAt: T0 + 1,
        landingPath: '/posts/1',
        referrerHost: 'a.example',
        userId: 'u9',
      }),
      session({
        id: 's3',
        startedAt: T0 + 2,
        landingPath: '/',
        referrerHost: null,
        utmSource: 'news',
        browser: null,
      }),
      session({ id: 's4', startedAt: T0 + 3, landingPath: '/', isBot: true }),
      session({
        id: 's5',
        startedAt: T0 + 4,
        landingPath: '/posts/2',
        referrerHost: 'a.example',
        device: 'mobile',
      }),
      session({ id: 'old', startedAt: T0 - DAY, landingPath: '/' }),
    ];
    const v = (s: string, seq: number, path: string, extra = {}) =>
      pageView(T0 + seq, path, { sessionId: s, visitorKey: `k-${s}`, seq, ...extra });
    const views = [
      v('s1', 3, '/signup'),
      v('s1', 1, '/'),
      v('s1', 2, '/'),
      v('s2', 1, '/posts/1', { authenticated: true, userId: 'u9' }),
      // Views at their session's start: a view before it would lengthen the session (reports merge views in).
      v('s3', 1, '/', { at: T0 + 2 }),
      v('s4', 1, '/', { isBot: true }),
      v('s5', 1, '/posts/2', { at: T0 + 4 }),
    ];
    await store.write(
      batch({
        sessions,
        views,
        metrics: [metric(views[1]!, 'time_on_page', 1_000), metric(views[4]!, 'time_on_page', 3_000)],
        conversions: [conversion('u1', T0 + 100, ['s1'], sessions[0]!)],
      }),
    );
    return store;
  }

  it('topPages: views desc, then path in code-point order; averages over measured views only', async () => {
    const store = await seeded();
    expect(await store.topPages(Q)).toEqual([
      {
        path: '/',
        views: 3,
        uniqueVisitors: 2,
        authenticatedViews: 0,
        anonymousViews: 3,
        avgTimeOnPageMs: 2_000,
        avgScrollDepth: null,
      },
      expect.objectContaining({ path: '/posts/1', views: 1, authenticatedViews: 1 }),
      expect.objectContaining({ path: '/posts/2', views: 1 }),
      expect.objectContaining({ path: '/signup', views: 1, avgTimeOnPageMs: null }),
    ]);
    expect((await store.topPages({ ...Q, includeBots: true }))[0]?.views).toBe(4);
    expect((await store.topPages({ ...Q, path: '/posts/*', limit: 1 })).map((r) => r.path)).toEqual([
      '/posts/1',
    ]);
  });

  it('orders ties by code point, not by UTF-16 unit', async () => {
    const store = memoryStore();
    // U+FF5E is below U+1F600 as a code point, above it as a UTF-16 unit (0xD83D).
    const paths = ['/\u{1F600}', '/\uFF5E', '/B', '/a'];
    await store.write(batch({ views: paths.map((p) => pageView(T0, p, { visitorKey: 'k' })) }));
    expect((await store.topPages(Q)).map((r) => r.path)).toEqual(['/B', '/a', '/\uFF5E', '/\u{1F600}']);
    expect(compareCodePoints('\uFF5E', '\u{1F600}')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
  });

  it('sessions: counts, bounces and averages, bots apart', async () => {
    const store = await seeded();
    expect(await store.sessions(Q)).toEqual({
      sessions: 4,
      authenticatedSessions: 1,
      anonymousSessions: 3,
      pageViews: 6,
      bounces: 3,
      avgDurationMs: 15_000,
      pagesPerSession: 1.5,
      bounceRate: 0.75,
    });
    expect((await store.sessions({ ...Q, includeBots: true })).sessions).toBe(5);
    expect((await store.sessions({ ...Q, path: '/posts/*' })).sessions).toBe(2);
    expect(await store.sessions({ from: '2030-01-01', to: '2030-01-02' })).toMatchObject({
      sessions: 0,
      avgDurationMs: null,
      pagesPerSession: null,
      bounceRate: null,
    });
  });

  it('conversions: signups, rate over sessions that began anonymous, first-touch groups', async () => {
    const store = await seeded();
    const report = await store.conversions(Q);
    expect(report).toMatchObject({
      signups: 1,
      convertedSessions: 1,
      visitorSessions: 3,
      conversionRate: 1 / 3,
      byLandingPage: [{ path: '/', conversions: 1 }],
      byReferrer: [{ referrerHost: 'b.example', conversions: 1 }],
    });
    expect(report.conversions.map((c) => c.id)).toEqual(['signup:u1']);
    expect((await store.conversions({ ...Q, path: '/posts/*' })).signups).toBe(0);
  });

  it('funnel: ordered, not necessarily adjacent steps', async () => {
    const store = await seeded();
    expect(await store.funnel(Q, ['/', '/signup'])).toEqual([
      { step: '/', sessions: 2 },
      { step: '/signup', sessions: 1 },
    ]);
    expect(await store.funnel(Q, ['/signup', '/'])).toEqual([
      { step: '/signup', sessions: 1 },
      { step: '/', sessions: 0 },
    ]);
    expect(await store.funnel(Q, ['/posts/*'])).toEqual([{ step: '/posts/*', sessions: 2 }]);
  });

  it('journeys: repeats collapsed, (signup) appended, count desc then steps', async () => {
    const store = await seeded();
    // All tie at one session: a journey that is a prefix of another comes first.
    expect(await store.journeys(Q)).toEqual([
      { steps: ['/'], sessions: 1 },
      { steps: ['/', '/signup', '(signup)'], sessions: 1 },
      { steps: ['/posts/1'], sessions: 1 },
      { steps: ['/posts/2'], sessions: 1 },
    ]);
    expect(await store.journeys({ ...Q, maxSteps: 1 })).toContainEqual({
      steps: ['/', '(signup)'],
      sessions: 1,
    });
    await expect(store.journeys({ ...Q, maxSteps: 0 })).rejects.toSatisfy((e) =>
      isAnonError(e, 'invalid_input'),
    );
  });

  it('referrers, campaigns and devices: count desc, then key with null first', async () => {
    const store = await seeded();
    expect(await store.referrers(Q)).toEqual([
      { referrerHost: 'a.example', sessions: 2 },
      { referrerHost: null, sessions: 1 },
      { referrerHost: 'b.example', sessions: 1 },
    ]);
    expect(await store.campaigns(Q)).toEqual([
      { utmSource: 'news', utmMedium: null, utmCampaign: null, sessions: 1 },
    ]);
    expect(await store.devices(Q)).toEqual({
      devices: [
        { device: 'desktop', sessions: 3 },
        { device: 'mobile', sessions: 1 },
      ],
      browsers: [
        { browser: 'Chrome', sessions: 3 },
        { browser: null, sessions: 1 },
      ],
      os: [{ os: 'macOS', sessions: 4 }],
    });
    expect(await store.referrers({ ...Q, limit: 1 })).toHaveLength(1);
  });

  it('bots: bot views, bot sessions and bot paths', async () => {
    const store = await seeded();
    expect(await store.bots(Q)).toEqual({ views: 1, sessions: 1, topPaths: [{ path: '/', views: 1 }] });
  });

  it('aggregates: by day then path, every row unless a limit is given', async () => {
    const store = await seeded();
    const rows = await store.aggregates({ from: '2026-01-01', to: '2026-01-31' });
    expect(rows.map((r) => r.path)).toEqual(['/', '/posts/1', '/posts/2', '/signup']);
    expect(await store.aggregates({ ...Q, limit: 2 })).toHaveLength(2);
  });

  it('rejects a malformed query with a typed error', async () => {
    const store = memoryStore();
    await expect(store.topPages({ from: "2026-01-01'; drop table x", to: '2026-01-02' })).rejects.toSatisfy(
      (e) => isAnonError(e, 'invalid_input'),
    );
    await expect(store.sessions({ ...Q, limit: -1 })).rejects.toSatisfy((e) =>
      isAnonError(e, 'invalid_input'),
    );
  });
});
