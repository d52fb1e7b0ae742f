import { createTracker, createUaParser, DEFAULT_CONFIG, normalize } from '@anon/core';
import { memoryHotStore, memoryStore } from '@anon/core/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeClock, MIN, memoryRig, navigation, silentLogger } from './engine-fixtures.js';

const ALL = { from: '2026-01-01', to: '2026-12-31' };

describe('hostile traffic (issue 15)', () => {
  it('random paths past the day’s budget are counted as (other): aggregates stay bounded, counts stay whole', async () => {
    const { tracker, store } = memoryRig({ maxPathsPerDay: 10 });
    for (let i = 0; i < 40; i++) tracker.track(navigation(`/random-${i}`, { ip: `198.51.100.${i}` }));
    // A route pattern the framework reports is the app's own: always kept.
    tracker.track(navigation('/posts/7', { route: '/posts/:id' }));
    await tracker.flush();
    const rows = await store.topPages(ALL);
    expect(rows).toHaveLength(12);
    expect(rows.find((r) => r.path === '(other)')?.views).toBe(30);
    expect(rows.find((r) => r.path === '/posts/:id')?.views).toBe(1);
    expect(rows.reduce((sum, r) => sum + r.views, 0)).toBe(41);
  });

  it('a bot fills at most half of the path budget', async () => {
    const { tracker, store } = memoryRig({ maxPathsPerDay: 10 });
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    for (let i = 0; i < 20; i++) tracker.track(navigation(`/crawl-${i}`, { ua: bot, ip: '66.249.66.1' }));
    tracker.track(navigation('/human'));
    await tracker.flush();
    const paths = new Set(store.dump().pageViews.map((v) => v.path));
    expect(paths.has('/human')).toBe(true);
    expect([...paths].filter((p) => p.startsWith('/crawl-'))).toHaveLength(5);
  });

  it('DNT and Sec-GPC traffic is still held to the page-view rate: a flood from one IP and UA is flagged', async () => {
    const { tracker, store } = memoryRig();
    for (let i = 0; i < 100; i++) tracker.track(navigation('/', { extra: { dnt: '1' } }));
    await tracker.flush();
    const views = store.dump().pageViews;
    expect(views.filter((v) => !v.isBot)).toHaveLength(DEFAULT_CONFIG.botMaxViewsPerMinute);
    expect(views.filter((v) => v.isBot).every((v) => v.botReasons.includes('rate'))).toBe(true);
    expect(views.every((v) => v.visitorKey === null && v.sessionId === null)).toBe(true);
  });

  it('engaged time cannot exceed the time since the view', async () => {
    const { tracker, clock, store } = memoryRig();
    const viewId = tracker.track(navigation('/read')).viewId!;
    await tracker.flush();
    clock.advance(200);
    tracker.beacon({ t: 'e', v: viewId, ms: 86_400_000 }, navigation('/_anon/e', { method: 'POST' }));
    await tracker.flush();
    clock.advance(31 * MIN);
    await tracker.sweep();
    await tracker.flush();
    const time = store.dump().metrics.find((m) => m.viewId === viewId && m.metric === 'time_on_page');
    expect(time?.value).toBe(200);
  });

  it('the in-process hot store holds at most maxSessions live sessions: the oldest are finalized early', async () => {
    const clock = fakeClock();
    const hot = memoryHotStore({ maxSessions: 100 });
    const store = memoryStore();
    const tracker = createTracker({ hot, store, clock, sweeper: false, logger: silentLogger() });
    for (let i = 0; i < 1_000; i++) {
      tracker.track(navigation('/', { ua: `Mozilla/5.0 (Flood ${i})`, ip: '203.0.113.9' }));
      if (i % 100 === 99) await tracker.flush();
    }
    await tracker.flush();
    await tracker.sweep();
    await tracker.flush();
    expect(hot.sessionCount()).toBeLessThanOrEqual(100);
    expect(hot.overCapacity()).toBe(false);
    // Nothing is lost: every view is stored, and every session beyond the cap was finalized.
    expect(store.dump().pageViews).toHaveLength(1_000);
    expect(store.dump().sessions.filter((s) => s.endedAt !== null).length).toBeGreaterThanOrEqual(900);
    await tracker.close();
  });

  it('no stored string carries a control character (terminal escapes, forged line breaks)', () => {
    const ua = createUaParser(100);
    const controls = fc.constantFrom('\u001b[2J', '\u0007', '\r\n', '\u0000', '\u009b', '\u007f');
    fc.assert(
      fc.property(fc.string(), controls, fc.string(), (a, c, b) => {
        const url = `/${a}${c}${b}?utm_source=${encodeURIComponent(c)}x&ref=${encodeURIComponent(c)}`;
        const result = normalize(
          {
            method: 'GET',
            url,
            status: 200,
            ip: '198.51.100.1',
            headers: { accept: 'text/html', referer: `https://evil.example/${c}x`, 'user-agent': `UA${c}` },
            pageType: `t${c}`,
            scope: `s${c}`,
            userId: `u${c}`,
          },
          DEFAULT_CONFIG,
          ua,
        );
        if (!result.track) return;
        const stored = Object.entries(result.request).filter(
          ([key, value]) => typeof value === 'string' && key !== 'rawIp',
        );
        // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the test.
        for (const [, value] of stored) expect(value).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }),
    );
  });
});

describe('secrets in path segments (issue 15, hole 10)', () => {
  const ua = createUaParser(10);
  const pathOf = (url: string) => {
    const result = normalize(
      { method: 'GET', url, status: 200, ip: '198.51.100.1', headers: { accept: 'text/html' } },
      DEFAULT_CONFIG,
      ua,
    );
    return result.track ? [result.request.path, result.request.url] : null;
  };

  it('drops matrix parameters such as ;jsessionid= from every segment', () => {
    expect(pathOf('/posts/9;jsessionid=SECRET123?utm_source=x')).toEqual([
      '/posts/9',
      '/posts/9?utm_source=x',
    ]);
    expect(pathOf('/a;x=1/b;y=2/')).toEqual(['/a/b', '/a/b']);
  });

  it('replaces a segment that is an e-mail address, plain or escaped', () => {
    expect(pathOf('/p/users/jane.doe@example.com')).toEqual(['/p/users/:email', '/p/users/:email']);
    expect(pathOf('/p/users/jane%40example.org/edit')).toEqual([
      '/p/users/:email/edit',
      '/p/users/:email/edit',
    ]);
    expect(pathOf('/p/@handle')).toEqual(['/p/@handle', '/p/@handle']);
  });
});
