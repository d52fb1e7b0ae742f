import { type HotSession, sessionize, sessionSummary } from '@anon/core';
import { describe, expect, it } from 'vitest';
import { draft, MIN, RULES, T0 } from './engine-fixtures.js';

const first = (overrides = {}) =>
  sessionize(
    null,
    {
      view: draft({ id: 'v1', path: '/a', ...overrides }),
      visitorKey: 'k',
      newSessionId: 's1',
      viewsThisMinute: 1,
    },
    RULES,
  );

describe('sessionize', () => {
  it('starts a session on a first view, with its source and device', () => {
    const step = first({
      referrer: 'https://news.example/x',
      referrerHost: 'news.example',
      utmSource: 'hn',
      device: 'mobile',
    });
    expect(step.isNew).toBe(true);
    expect(step.ended).toBeNull();
    expect(step.previousView).toBeNull();
    expect(step.seq).toBe(1);
    expect(step.persist).toBe(true);
    expect(step.session).toMatchObject({
      id: 's1',
      visitorKey: 'k',
      startedAt: T0,
      lastSeenAt: T0,
      pageViews: 1,
      landingPath: '/a',
      exitPath: '/a',
      lastViewId: 'v1',
      referrerHost: 'news.example',
      utmSource: 'hn',
      device: 'mobile',
      lastEngagedMs: null,
      isBot: false,
    });
  });

  it('continues within the timeout and reports the previous view with its time on page', () => {
    const s1 = first().session;
    const step = sessionize(
      s1,
      {
        view: draft({ id: 'v2', path: '/b', at: T0 + 2 * MIN }),
        visitorKey: 'k',
        newSessionId: 'unused',
        viewsThisMinute: 1,
      },
      RULES,
    );
    expect(step.isNew).toBe(false);
    expect(step.seq).toBe(2);
    expect(step.persist).toBe(false);
    expect(step.session).toMatchObject({
      id: 's1',
      pageViews: 2,
      landingPath: '/a',
      exitPath: '/b',
      lastSeenAt: T0 + 2 * MIN,
    });
    expect(step.previousView).toEqual({
      id: 'v1',
      at: T0,
      day: '2026-01-15',
      path: '/a',
      isBot: false,
      timeOnPageMs: 2 * MIN,
    });
  });

  it('continues at exactly the timeout and ends the session one millisecond later', () => {
    const s1 = first().session;
    const at = (ms: number) =>
      sessionize(
        s1,
        { view: draft({ id: 'v2', at: T0 + ms }), visitorKey: 'k', newSessionId: 's2', viewsThisMinute: 1 },
        RULES,
      );
    expect(at(RULES.sessionTimeoutMs).isNew).toBe(false);
    expect(at(RULES.sessionTimeoutMs).previousView?.timeOnPageMs).toBe(RULES.sessionTimeoutMs);
    const late = at(RULES.sessionTimeoutMs + 1);
    expect(late.isNew).toBe(true);
    expect(late.ended).toEqual(s1);
    expect(late.session.id).toBe('s2');
    expect(late.previousView).toBeNull();
  });

  it('treats an out-of-order view as a zero gap and keeps lastSeenAt monotonic', () => {
    const s1 = first({ at: T0 + MIN }).session;
    const step = sessionize(
      s1,
      { view: draft({ id: 'v0', at: T0 }), visitorKey: 'k', newSessionId: 'x', viewsThisMinute: 1 },
      RULES,
    );
    expect(step.isNew).toBe(false);
    expect(step.session.lastSeenAt).toBe(T0 + MIN);
    expect(step.previousView?.timeOnPageMs).toBe(0);
  });

  it('persists on the first view and on every Nth', () => {
    let current: HotSession | null = null;
    const persisted: number[] = [];
    for (let i = 1; i <= 11; i++) {
      const step = sessionize(
        current,
        {
          view: draft({ id: `v${i}`, at: T0 + i * 1000 }),
          visitorKey: 'k',
          newSessionId: 's',
          viewsThisMinute: 1,
        },
        RULES,
      );
      if (step.persist) persisted.push(step.seq);
      current = step.session;
    }
    expect(persisted).toEqual([1, 5, 10]);
  });

  it('flags a view over the per-minute rate as a bot, and the session with it', () => {
    const s1 = first().session;
    const step = sessionize(
      s1,
      {
        view: draft({ id: 'v2', at: T0 + 1000 }),
        visitorKey: 'k',
        newSessionId: 'x',
        viewsThisMinute: RULES.botMaxViewsPerMinute + 1,
      },
      RULES,
    );
    expect(step.isBot).toBe(true);
    expect(step.becameBot).toBe(true);
    expect(step.session.isBot).toBe(true);
    expect(step.session.lastViewIsBot).toBe(true);
    const atLimit = sessionize(
      s1,
      {
        view: draft({ id: 'v2', at: T0 + 1000 }),
        visitorKey: 'k',
        newSessionId: 'x',
        viewsThisMinute: RULES.botMaxViewsPerMinute,
      },
      RULES,
    );
    expect(atLimit.isBot).toBe(false);
    expect(atLimit.becameBot).toBe(false);
  });

  it('keeps a bot session a bot: a later view under the rate is a bot view, and the session became one once', () => {
    const flagged = sessionize(
      first().session,
      {
        view: draft({ id: 'v2', at: T0 + 1000 }),
        visitorKey: 'k',
        newSessionId: 'x',
        viewsThisMinute: RULES.botMaxViewsPerMinute + 1,
      },
      RULES,
    ).session;
    const later = sessionize(
      flagged,
      { view: draft({ id: 'v3', at: T0 + 5 * MIN }), visitorKey: 'k', newSessionId: 'x', viewsThisMinute: 1 },
      RULES,
    );
    expect(later).toMatchObject({ isBot: true, becameBot: false, isNew: false });
    expect(later.session).toMatchObject({ isBot: true, lastViewIsBot: true });
    expect(later.previousView?.isBot).toBe(true);
    // A session that starts as a bot (its user agent) had no human view to move: it did not become one.
    expect(first({ isBot: true, botReasons: ['user-agent'] })).toMatchObject({
      isBot: true,
      becameBot: false,
    });
    // Past the timeout the visitor starts a human session again.
    const next = sessionize(
      later.session,
      {
        view: draft({ id: 'v4', at: T0 + 2 * RULES.sessionTimeoutMs }),
        visitorKey: 'k',
        newSessionId: 's2',
        viewsThisMinute: 1,
      },
      RULES,
    );
    expect(next).toMatchObject({ isNew: true, isBot: false, becameBot: false });
  });

  it('learns the user id once known and keeps it', () => {
    const s1 = first().session;
    const s2 = sessionize(
      s1,
      {
        view: draft({ id: 'v2', userId: 'u1', at: T0 + 1 }),
        visitorKey: 'k',
        newSessionId: 'x',
        viewsThisMinute: 1,
      },
      RULES,
    ).session;
    const s3 = sessionize(
      s2,
      { view: draft({ id: 'v3', at: T0 + 2 }), visitorKey: 'k', newSessionId: 'x', viewsThisMinute: 1 },
      RULES,
    ).session;
    expect(s2.userId).toBe('u1');
    expect(s3.userId).toBe('u1');
  });

  it('resets engaged time when a new view arrives', () => {
    const s1 = { ...first().session, lastEngagedMs: 5000 };
    const step = sessionize(
      s1,
      { view: draft({ id: 'v2', at: T0 + 1 }), visitorKey: 'k', newSessionId: 'x', viewsThisMinute: 1 },
      RULES,
    );
    expect(step.session.lastEngagedMs).toBeNull();
  });
});

describe('sessionSummary', () => {
  const hot = (): HotSession => {
    const s = first().session;
    return sessionize(
      s,
      {
        view: draft({ id: 'v2', path: '/b', at: T0 + 90_000 }),
        visitorKey: 'k',
        newSessionId: 'x',
        viewsThisMinute: 1,
      },
      RULES,
    ).session;
  };

  it('ends a final summary at the last view, not at the sweep time', () => {
    const summary = sessionSummary(hot(), true);
    expect(summary).toMatchObject({
      id: 's1',
      day: '2026-01-15',
      startedAt: T0,
      lastSeenAt: T0 + 90_000,
      endedAt: T0 + 90_000,
      durationMs: 90_000,
      pageViews: 2,
      landingPath: '/a',
      exitPath: '/b',
      convertedUserId: null,
      convertedAt: null,
    });
  });

  it('leaves a live summary open', () => {
    expect(sessionSummary(hot(), false).endedAt).toBeNull();
    expect(sessionSummary(hot(), false).durationMs).toBe(90_000);
  });
});
