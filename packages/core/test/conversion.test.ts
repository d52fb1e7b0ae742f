import { buildConversion, type IdentifyRequest, type Session } from '@anon/core';
import { describe, expect, it } from 'vitest';
import { MIN, T0 } from './engine-fixtures.js';

const HOUR = 60 * MIN;

function session(overrides: Partial<Session>): Session {
  return {
    id: 's',
    visitorKey: 'k1',
    userId: null,
    startedAt: T0,
    day: '2026-01-15',
    lastSeenAt: T0,
    endedAt: null,
    durationMs: 0,
    pageViews: 1,
    landingPath: '/',
    exitPath: '/',
    isBot: false,
    convertedUserId: null,
    convertedAt: null,
    referrer: null,
    referrerHost: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    device: 'desktop',
    browser: null,
    os: null,
    country: null,
    city: null,
    ...overrides,
  };
}

function request(overrides: Partial<IdentifyRequest> = {}): IdentifyRequest {
  const at = T0 + 10 * HOUR;
  return {
    userId: 'u1',
    kind: 'signup',
    at,
    day: '2026-01-15',
    visitorKeys: ['k1'],
    since: at - 24 * HOUR,
    live: null,
    ...overrides,
  };
}

describe('buildConversion', () => {
  it('is null for a login', () => {
    expect(buildConversion(request({ kind: 'login' }), [session({ id: 's1' })])).toBeNull();
  });

  it('attributes first touch to the earliest session and last touch to the latest', () => {
    const stored = [
      session({
        id: 's2',
        startedAt: T0 + 2 * HOUR,
        landingPath: '/pricing',
        referrerHost: 'google.com',
        pageViews: 2,
      }),
      session({
        id: 's1',
        startedAt: T0,
        landingPath: '/posts/:id',
        referrerHost: 'news.ycombinator.com',
        utmSource: 'hn',
        pageViews: 3,
      }),
    ];
    const c = buildConversion(request(), stored);
    expect(c).toMatchObject({
      id: 'signup:u1',
      userId: 'u1',
      kind: 'signup',
      day: '2026-01-15',
      sessionIds: ['s1', 's2'],
      pagesBefore: 5,
      msBefore: 10 * HOUR,
    });
    expect(c?.firstTouch).toMatchObject({
      sessionId: 's1',
      landingPath: '/posts/:id',
      referrerHost: 'news.ycombinator.com',
      utmSource: 'hn',
    });
    expect(c?.lastTouch).toMatchObject({
      sessionId: 's2',
      landingPath: '/pricing',
      referrerHost: 'google.com',
    });
  });

  it('leaves out other visitors, bots, other users and sessions outside the window', () => {
    const req = request();
    const stored = [
      session({ id: 'other-visitor', visitorKey: 'k9' }),
      session({ id: 'bot', isBot: true }),
      session({ id: 'other-user', userId: 'u2' }),
      session({ id: 'too-early', startedAt: req.since - 1 }),
      session({ id: 'too-late', startedAt: req.at + 1 }),
      session({ id: 'same-user', userId: 'u1', startedAt: req.since }),
      session({ id: 'at-signup', startedAt: req.at }),
    ];
    expect(buildConversion(req, stored)?.sessionIds).toEqual(['same-user', 'at-signup']);
  });

  it('counts the live session once, as it stood at signup', () => {
    const stored = [session({ id: 's1', pageViews: 1, lastSeenAt: T0 })];
    const live = session({ id: 's1', pageViews: 4, lastSeenAt: T0 + 3 * MIN });
    const c = buildConversion(request({ live }), stored);
    expect(c?.sessionIds).toEqual(['s1']);
    expect(c?.pagesBefore).toBe(4);
    // A stored copy written after the signup (the visitor browsed on) does not count the later pages.
    const after = session({ id: 's1', pageViews: 9, lastSeenAt: T0 + 20 * HOUR });
    expect(buildConversion(request({ live }), [after])?.pagesBefore).toBe(4);
  });

  it('takes the most advanced stored copy of a session when there is no live one', () => {
    const older = session({ id: 's1', pageViews: 1, lastSeenAt: T0 });
    const newer = session({ id: 's1', pageViews: 5, lastSeenAt: T0 + MIN });
    const sameCountLater = session({ id: 's1', pageViews: 5, lastSeenAt: T0 + 2 * MIN, exitPath: '/x' });
    expect(buildConversion(request(), [older, newer])?.pagesBefore).toBe(5);
    expect(buildConversion(request(), [newer, older])?.pagesBefore).toBe(5);
    expect(buildConversion(request(), [newer, sameCountLater])?.lastTouch?.sessionId).toBe('s1');
  });

  it('still records a signup without any anonymous session', () => {
    const c = buildConversion(request(), []);
    expect(c).toMatchObject({
      sessionIds: [],
      firstTouch: null,
      lastTouch: null,
      pagesBefore: 0,
      msBefore: null,
    });
  });

  it('orders ties by id, so the same input always gives the same conversion', () => {
    const a = session({ id: 'b', startedAt: T0 });
    const b = session({ id: 'a', startedAt: T0 });
    expect(buildConversion(request(), [a, b])).toEqual(buildConversion(request(), [b, a]));
    expect(buildConversion(request(), [a, b])?.sessionIds).toEqual(['a', 'b']);
  });
});
