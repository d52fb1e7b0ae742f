import { foldViews, type LiveSession, liveSession, mergeLive } from '@anon/core/adapter';
import { memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { isLiveVisitorSession, isVisitorRollup } from '../src/adapter/live-session.js';
import { batch, conversion, MIN, pageView, session, T0 } from './memory-fixtures.js';

const DAY = '2026-01-15';

/** A session's three page views: it lands from a newsletter on a phone, then follows a link from another site. */
function visit(sessionId: string) {
  return [
    pageView(T0, '/landing', {
      sessionId,
      visitorKey: 'k',
      seq: 1,
      referrerHost: 'news.example',
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'launch',
      device: 'mobile',
      browser: 'Safari',
      os: 'iOS',
    }),
    pageView(T0 + MIN, '/docs', { sessionId, visitorKey: 'k', seq: 2, referrerHost: 'other.example' }),
    pageView(T0 + 2 * MIN, '/about', {
      sessionId,
      visitorKey: 'k',
      seq: 3,
      userId: 'u1',
      authenticated: true,
    }),
  ];
}

describe('live session: source and device', () => {
  it('with no summary stored yet, a session has its landing view source and device, whatever the order', () => {
    const views = visit('s1');
    const live = liveSession(null, [views[2]!, views[0]!, views[1]!]) as LiveSession;
    expect(live).toMatchObject({
      day: DAY,
      landingPath: '/landing',
      exitPath: '/about',
      referrerHost: 'news.example',
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'launch',
      device: 'mobile',
      browser: 'Safari',
      os: 'iOS',
      authenticated: true,
      pageViews: 3,
      durationMs: 2 * MIN,
    });
  });

  it("with a summary stored, the summary's source and device count, even before its views are stored", () => {
    const summary = session({
      id: 's2',
      startedAt: T0,
      landingPath: '/landing',
      referrerHost: 'search.example',
      device: 'tablet',
      browser: 'Chrome',
      os: 'Android',
    });
    const views = visit('s2');
    const merged = liveSession(summary, views) as LiveSession;
    expect([merged.referrerHost, merged.utmSource, merged.device, merged.browser, merged.os]).toEqual([
      'search.example',
      null,
      'tablet',
      'Chrome',
      'Android',
    ]);
    expect(mergeLive('s2', summary, null)).toMatchObject({
      referrerHost: 'search.example',
      device: 'tablet',
    });
    // The fold of the views carries the landing view's, for a store that folds them in its database.
    expect(foldViews(views)?.landingSource).toEqual({
      referrerHost: 'news.example',
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'launch',
      device: 'mobile',
      browser: 'Safari',
      os: 'iOS',
    });
  });
});

describe('live session: visitor sessions', () => {
  it('a session is a visitor session unless a user id is on its summary or a view, or a conversion names it', () => {
    expect(isLiveVisitorSession({ authenticated: false }, false)).toBe(true);
    expect(isLiveVisitorSession({ authenticated: true }, false)).toBe(false);
    expect(isLiveVisitorSession({ authenticated: true }, true)).toBe(true);
    // A rollup row keeps the summary's verdict in `visitor` and the live one in `authenticated`.
    expect(isVisitorRollup({ visitor: true, authenticated: false })).toBe(true);
    expect(isVisitorRollup({ visitor: true, authenticated: true })).toBe(false);
    expect(isVisitorRollup({ visitor: false, authenticated: true })).toBe(false);
  });

  it('a returning user who logs in mid-session leaves the visitor sessions before the summary says so', async () => {
    const store = memoryStore();
    const views = visit('s3');
    const firstView = session({ id: 's3', startedAt: T0, visitorKey: 'k', landingPath: '/landing' });
    await store.write(batch({ views: views.slice(0, 2), sessions: [firstView] }));
    const q = { from: DAY, to: DAY };
    expect((await store.conversions(q)).visitorSessions).toBe(1);
    await store.write(batch({ views: [views[2]!] }));
    expect((await store.conversions(q)).visitorSessions).toBe(0);
    // A sign-up naming the session brings it back: it could convert, and did.
    await store.write(batch({ conversions: [conversion('u1', T0 + 3 * MIN, ['s3'], firstView)] }));
    const report = await store.conversions(q);
    expect([report.visitorSessions, report.convertedSessions, report.conversionRate]).toEqual([1, 1, 1]);
  });

  it('a session whose summary is not written yet counts in referrers, campaigns, devices and the funnel', async () => {
    const store = memoryStore();
    await store.write(batch({ views: visit('s4') }));
    const q = { from: DAY, to: DAY };
    expect(await store.referrers(q)).toEqual([{ referrerHost: 'news.example', sessions: 1 }]);
    expect(await store.campaigns(q)).toEqual([
      { utmSource: 'newsletter', utmMedium: 'email', utmCampaign: 'launch', sessions: 1 },
    ]);
    expect((await store.devices(q)).devices).toEqual([{ device: 'mobile', sessions: 1 }]);
    expect(await store.funnel(q, ['/landing', '/about'])).toEqual([
      { step: '/landing', sessions: 1 },
      { step: '/about', sessions: 1 },
    ]);
  });
});
