import { describe, expect, it } from 'vitest';
import { computeTruth, generateTraffic, mulberry32, pathMatchesPattern } from '../src/index.js';

describe('generateTraffic', () => {
  const options = { seed: 42, visitors: 40, days: 3 };

  it('is deterministic: the same seed gives the same requests, batches and truth', () => {
    const a = generateTraffic(options);
    const b = generateTraffic(options);
    expect(b.requests).toEqual(a.requests);
    expect(b.batches).toEqual(a.batches);
    const q = { from: a.from, to: a.to };
    expect(b.truth.reports(q)).toEqual(a.truth.reports(q));
  });

  it('differs with another seed', () => {
    const a = generateTraffic(options);
    const b = generateTraffic({ ...options, seed: 43 });
    expect(b.batches.map((x) => x.id)).not.toEqual(a.batches.map((x) => x.id));
    expect(b.views.map((v) => v.path)).not.toEqual(a.views.map((v) => v.path));
  });

  it('produces realistic traffic: people, crawlers, a rate-limited scraper, log-ins and sign-ups', () => {
    const t = generateTraffic(options);
    expect(t.days).toHaveLength(3);
    expect(t.requests.every((r, i) => i === 0 || (t.requests[i - 1]?.at ?? 0) <= r.at)).toBe(true);
    expect(t.views.some((v) => v.isBot && v.botReasons.includes('user-agent'))).toBe(true);
    expect(t.views.some((v) => v.isBot && v.botReasons.includes('rate'))).toBe(true);
    expect(t.views.some((v) => v.authenticated)).toBe(true);
    expect(t.requests.some((r) => r.identify?.kind === 'signup')).toBe(true);
    expect(t.requests.some((r) => r.identify?.kind === 'login')).toBe(true);
    expect(t.conversions.length).toBeGreaterThan(0);
    expect(t.sessions.some((s) => s.utmSource !== null)).toBe(true);
    expect(t.sessions.some((s) => s.referrerHost !== null)).toBe(true);
    expect(new Set(t.sessions.map((s) => s.device))).toEqual(new Set(['desktop', 'mobile', 'tablet']));
    // Every page view request is a GET that accepts HTML and carries the route pattern of its view.
    const gets = t.requests.filter((r) => !r.identify);
    expect(gets).toHaveLength(t.views.length);
    expect(gets.every((r) => r.request.method === 'GET' && r.request.status === 200)).toBe(true);
    const viewById = new Map(t.views.map((v) => [v.id, v]));
    for (const r of gets) expect(viewById.get(r.request.viewId as string)?.path).toBe(r.request.route);
    // Ids are unique across batches.
    const ids = t.batches.flatMap((b) => b.events.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('conserves views: the truth counts every page view exactly once', () => {
    const t = generateTraffic(options);
    const q = { from: t.from, to: t.to, limit: 10_000 };
    const humans = t.views.filter((v) => !v.isBot).length;
    const bots = t.views.length - humans;
    expect(t.truth.topPages(q).reduce((sum, r) => sum + r.views, 0)).toBe(humans);
    expect(t.truth.topPages({ ...q, includeBots: true }).reduce((sum, r) => sum + r.views, 0)).toBe(
      t.views.length,
    );
    expect(t.truth.bots(q).views).toBe(bots);
    const rows = t.truth.aggregates(q);
    expect(rows.reduce((sum, r) => sum + r.views, 0)).toBe(humans);
    expect(rows.reduce((sum, r) => sum + r.botViews, 0)).toBe(bots);
    expect(rows.reduce((sum, r) => sum + r.mobileViews + r.desktopViews + r.tabletViews, 0)).toBe(humans);
    // Session page counts equal the page views stored under them.
    const perSession = new Map<string, number>();
    for (const v of t.views)
      if (v.sessionId) perSession.set(v.sessionId, (perSession.get(v.sessionId) ?? 0) + 1);
    for (const s of t.sessions) expect(s.pageViews).toBe(perSession.get(s.id));
    const all = t.truth.sessions({ ...q, includeBots: true });
    expect(all.sessions).toBe(t.sessions.length);
    expect(all.pageViews).toBe(t.views.length);
    // Days split the range without loss.
    const byDay = t.days.map((d) => t.truth.sessions({ from: d, to: d, includeBots: true }).sessions);
    expect(byDay.reduce((a, b) => a + b, 0)).toBe(t.sessions.length);
    // Every session ended: the sweeper finalized them all.
    expect(t.sessions.every((s) => s.endedAt === s.lastSeenAt)).toBe(true);
  });

  it('the funnel narrows and journeys cover every session', () => {
    const t = generateTraffic(options);
    const q = { from: t.from, to: t.to, limit: 10_000 };
    const funnel = t.truth.funnel(q, ['/posts/*', '/pricing', '/signup']);
    for (let i = 1; i < funnel.length; i++) {
      expect(funnel[i]?.sessions).toBeLessThanOrEqual(funnel[i - 1]?.sessions ?? 0);
    }
    const sessions = t.truth.sessions(q).sessions;
    expect(t.truth.journeys(q).reduce((sum, r) => sum + r.sessions, 0)).toBe(sessions);
    expect(t.truth.journeys(q).some((r) => r.steps[r.steps.length - 1] === '(signup)')).toBe(true);
  });
});

describe('truth helpers', () => {
  it('path patterns: `*` is any run of characters, everything else literal', () => {
    expect(pathMatchesPattern('/posts/*', '/posts/:id')).toBe(true);
    expect(pathMatchesPattern('/posts/*', '/posts/a/b')).toBe(true);
    expect(pathMatchesPattern('/posts/*', '/post')).toBe(false);
    expect(pathMatchesPattern('/a_c', '/abc')).toBe(false);
    expect(pathMatchesPattern('/a.c', '/abc')).toBe(false);
    expect(pathMatchesPattern('*', '')).toBe(true);
    expect(pathMatchesPattern('a*a', 'a')).toBe(false);
    expect(pathMatchesPattern('a*b*c', 'abbc')).toBe(true);
  });

  it('an empty store has empty reports', () => {
    const truth = computeTruth({ views: [], metrics: [], sessions: [], conversions: [] });
    const reports = truth.reports({ from: '2026-01-01', to: '2026-12-31' });
    expect(reports.topPages).toEqual([]);
    expect(reports.sessions).toMatchObject({ sessions: 0, avgDurationMs: null, bounceRate: null });
    expect(reports.conversions.conversionRate).toBeNull();
  });

  it('mulberry32 is stable across runs', () => {
    const r = mulberry32(1);
    expect([r.next(), r.next(), r.next()]).toEqual([
      mulberry32(1).next(),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(mulberry32(7).hex(16)).toBe(mulberry32(7).hex(16));
    expect(mulberry32(7).hex(16)).not.toBe(mulberry32(8).hex(16));
  });
});
