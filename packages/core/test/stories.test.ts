import { describe, expect, it } from 'vitest';
import {
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

describe('stories', () => {
  it('an anonymous visitor reads three posts, signs up, and the conversion shows the landing page', async () => {
    const { tracker, clock, store } = memoryRig();
    const reader = { ua: IPHONE, ip: '198.51.100.23' };
    tracker.track(
      navigation('/posts/41?utm_source=hn&utm_medium=social', {
        ...reader,
        route: '/posts/:id',
        extra: { referer: 'https://news.ycombinator.com/item?id=1' },
      }),
    );
    for (const id of [42, 43]) {
      clock.advance(3 * MIN);
      tracker.track(
        navigation(`/posts/${id}`, {
          ...reader,
          route: '/posts/:id',
          extra: { referer: 'https://blog.example/' },
        }),
      );
    }
    // Someone else, who never signs up.
    tracker.track(navigation('/pricing', { ip: '203.0.113.99' }));
    clock.advance(2 * MIN);
    await tracker.identify(navigation('/signup', { ...reader, method: 'POST' }), 'user-1', 'signup');
    clock.advance(MIN);
    tracker.track(navigation('/welcome', { ...reader, userId: 'user-1' }));
    clock.advance(40 * MIN);
    await tracker.sweep();
    await tracker.flush();

    const report = await store.conversions(ALL);
    expect(report.signups).toBe(1);
    expect(report.byLandingPage).toEqual([{ path: '/posts/:id', conversions: 1 }]);
    expect(report.byReferrer).toEqual([{ referrerHost: 'news.ycombinator.com', conversions: 1 }]);
    const conversion = report.conversions[0];
    expect(conversion).toMatchObject({
      id: 'signup:user-1',
      userId: 'user-1',
      pagesBefore: 3,
      msBefore: 8 * MIN,
      firstTouch: {
        landingPath: '/posts/:id',
        utmSource: 'hn',
        utmMedium: 'social',
        referrerHost: 'news.ycombinator.com',
      },
    });
    expect(report.convertedSessions).toBe(1);
    expect(report.visitorSessions).toBe(2);
    expect(report.conversionRate).toBe(0.5);

    // The journey: landing page, the welcome page after signing up, then the signup marker.
    const journeys = await store.journeys(ALL);
    expect(journeys).toContainEqual({ steps: ['/posts/:id', '/welcome', '(signup)'], sessions: 1 });
    const session = store.dump().sessions.find((s) => s.id === conversion?.firstTouch?.sessionId);
    expect(session).toMatchObject({
      userId: 'user-1',
      convertedUserId: 'user-1',
      pageViews: 4,
      endedAt: T0 + 9 * MIN,
    });
    await tracker.close();
  });

  it('a bot user agent is flagged, kept out of topPages and counted on its own', async () => {
    const { tracker, store } = memoryRig();
    tracker.track(navigation('/', { ua: GOOGLEBOT, ip: '66.249.66.1' }));
    tracker.track(navigation('/sitemap-page', { ua: GOOGLEBOT, ip: '66.249.66.1' }));
    tracker.track(navigation('/'));
    tracker.track(navigation('/no-ua', { ua: '', ip: '192.0.2.1' }));
    await tracker.sweep();
    await tracker.flush();
    const views = store.dump().pageViews;
    expect(
      views
        .filter((v) => v.isBot)
        .map((v) => v.botReasons.join())
        .sort(),
    ).toEqual(['empty-user-agent', 'user-agent', 'user-agent']);
    expect(await store.topPages(ALL)).toEqual([
      expect.objectContaining({ path: '/', views: 1, uniqueVisitors: 1 }),
    ]);
    const bots = await store.bots(ALL);
    expect(bots.views).toBe(3);
    expect(bots.sessions).toBe(2);
    expect(tracker.stats().bots).toBe(3);
    expect(await tracker.activeVisitors()).toMatchObject({ total: 1 });
    const withBots = await store.topPages({ ...ALL, includeBots: true });
    expect(withBots.find((r) => r.path === '/')?.views).toBe(2);
  });

  it('a tracker whose hot store throws on every call never throws from track() and still writes the views', async () => {
    const logger = silentLogger();
    const { tracker, store } = memoryRig({ hot: failingHotStore(), logger });
    const results = ['/a', '/b', '/c'].map((path) => tracker.track(navigation(path)));
    expect(results.every((r) => r.tracked)).toBe(true);
    await tracker.flush();
    const views = store.dump().pageViews;
    expect(views.map((v) => v.path).sort()).toEqual(['/a', '/b', '/c']);
    expect(views.every((v) => v.sessionId === null && v.seq === 0)).toBe(true);
    expect((await store.topPages(ALL)).map((r) => r.views)).toEqual([1, 1, 1]);
    expect(tracker.stats().failures).toBe(3);
    // Logged, but not three times the same line a minute.
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/^\[anon\] \[core\] recording a page view/);
    expect(() =>
      tracker.beacon({ t: 'e', v: results[0]?.viewId, sd: 10 }, navigation('/_anon/e', { method: 'POST' })),
    ).not.toThrow();
    await tracker.close();
  });

  it('a visitor who sends Do Not Track is counted in aggregates only: no session, no visitor, no user', async () => {
    const { tracker, store } = memoryRig();
    const req = navigation('/posts/1', { userId: 'member-7', extra: { dnt: '1' } });
    expect(tracker.track(req).tracked).toBe(true);
    expect(tracker.track(navigation('/posts/1', { extra: { 'sec-gpc': '1' } })).tracked).toBe(true);
    await tracker.identify(req, 'member-7', 'login');
    await tracker.sweep();
    await tracker.flush();
    const dump = store.dump();
    expect(dump.sessions).toEqual([]);
    expect(dump.pageViews).toHaveLength(2);
    expect(dump.pageViews[0]).toMatchObject({
      sessionId: null,
      visitorKey: null,
      userId: null,
      seq: 0,
      authenticated: true,
    });
    expect(await store.topPages(ALL)).toEqual([
      expect.objectContaining({
        path: '/posts/1',
        views: 2,
        uniqueVisitors: 0,
        authenticatedViews: 1,
        anonymousViews: 1,
      }),
    ]);
    expect(await tracker.activeVisitors()).toMatchObject({ total: 0 });
  });

  it('a member and an anonymous reader are counted apart, in pages and in sessions', async () => {
    const { tracker, clock, store } = memoryRig();
    tracker.track(navigation('/feed', { userId: 'member-1' }));
    tracker.track(navigation('/feed', { ip: '198.51.100.77', ua: IPHONE }));
    clock.advance(MIN);
    tracker.track(navigation('/feed', { ip: '198.51.100.77', ua: IPHONE }));
    clock.advance(31 * MIN);
    await tracker.sweep();
    await tracker.flush();
    expect(await store.topPages(ALL)).toEqual([
      expect.objectContaining({
        path: '/feed',
        views: 3,
        uniqueVisitors: 2,
        authenticatedViews: 1,
        anonymousViews: 2,
      }),
    ]);
    expect(await store.sessions(ALL)).toMatchObject({
      sessions: 2,
      authenticatedSessions: 1,
      anonymousSessions: 1,
      bounces: 1,
      pagesPerSession: 1.5,
      avgDurationMs: MIN / 2,
    });
    expect((await store.devices(ALL)).devices).toEqual([
      { device: 'desktop', sessions: 1 },
      { device: 'mobile', sessions: 1 },
    ]);
  });

  it('a sign-up still converts when the app excludes its home page from tracking', async () => {
    const { tracker, clock, store } = memoryRig({ excludePaths: ['/'] });
    const reader = { ua: IPHONE, ip: '198.51.100.24' };
    tracker.track(navigation('/posts/7', { ...reader, route: '/posts/:id' }));
    clock.advance(MIN);
    await tracker.identify(navigation('/signup', { ...reader, method: 'POST' }), 'user-7', 'signup');
    clock.advance(40 * MIN);
    await tracker.sweep();
    await tracker.flush();
    const report = await store.conversions(ALL);
    expect(report.conversions.map((c) => [c.userId, c.pagesBefore])).toEqual([['user-7', 1]]);
  });

  it("a beacon sent just before the visitor's next page still counts for the page it measured", async () => {
    const { tracker, clock, store } = memoryRig();
    const reader = { ua: IPHONE, ip: '198.51.100.25' };
    const first = tracker.track(navigation('/posts/1', { ...reader, route: '/posts/:id' }));
    clock.advance(MIN);
    // No await between the beacon and the next view: the engine must apply them in the order they came.
    tracker.beacon(
      { t: 'e', v: first.viewId, ms: 50_000, sd: 80 },
      navigation('/_anon/e', { ...reader, method: 'POST' }),
    );
    tracker.track(navigation('/about', reader));
    await tracker.flush();
    const pages = await store.topPages(ALL);
    expect(pages.find((p) => p.path === '/posts/:id')?.avgScrollDepth).toBe(80);
  });
});
