import { expectReportsEqual, generateTraffic, readReports } from '@anon/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, conversion, ev, metric, T0, visit } from './fixtures.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

const DAY = '2026-01-15';
const q = { from: DAY, to: DAY };

describe.each(list)('reports on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('an anonymous visitor reads three posts, signs up, and the conversion shows the landing page', async () => {
    const source = { referrer: 'https://news.ycombinator.com/', referrerHost: 'news.ycombinator.com' };
    const reader = visit('s-reader', ['/posts/:id', '/posts/:id', '/posts/:id', '/signup'], {
      ...source,
      utmSource: 'hn',
      utmCampaign: 'launch',
      device: 'mobile',
      browser: 'Mobile Safari',
      os: 'iOS',
    });
    const bouncer = visit('s-bounce', ['/pricing'], { start: T0 + 5_000 });
    const member = visit('s-member', ['/', '/pricing'], { start: T0 + 9_000, userId: 'u-old' });
    const touch = { sessionId: 's-reader', landingPath: '/posts/:id', startedAt: T0, ...source };
    const signup = conversion({
      userId: 'u-new',
      sessionIds: ['s-reader'],
      at: T0 + 4 * 60_000,
      pagesBefore: 4,
      msBefore: 4 * 60_000,
      firstTouch: {
        ...touch,
        utmSource: 'hn',
        utmMedium: null,
        utmCampaign: 'launch',
        utmTerm: null,
        utmContent: null,
      },
      lastTouch: {
        ...touch,
        utmSource: 'hn',
        utmMedium: null,
        utmCampaign: 'launch',
        utmTerm: null,
        utmContent: null,
      },
    });
    const visits = [reader, bouncer, member];
    await f.store.write(
      batch([
        ...visits.flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)]),
        ev.metric(metric(reader.views[0]!, 'time_on_page', 30_000)),
        ev.metric(metric(reader.views[1]!, 'time_on_page', 90_000)),
      ]),
    );
    await f.store.write(batch([ev.conversion(signup)]));

    // The link is in the table itself, not only in the report.
    const [linked] = await f.probe.rows(
      `SELECT converted_user_id, (extract(epoch from converted_at) * 1000)::float8 AS at
       FROM "${f.schema}".sessions WHERE id = 's-reader'`,
    );
    expect(linked).toEqual({ converted_user_id: 'u-new', at: signup.at });

    expect(await f.store.topPages(q)).toEqual([
      {
        path: '/posts/:id',
        views: 3,
        uniqueVisitors: 1,
        authenticatedViews: 0,
        anonymousViews: 3,
        avgTimeOnPageMs: 60_000,
        avgScrollDepth: null,
      },
      {
        path: '/pricing',
        views: 2,
        uniqueVisitors: 2,
        authenticatedViews: 1,
        anonymousViews: 1,
        avgTimeOnPageMs: null,
        avgScrollDepth: null,
      },
      {
        path: '/',
        views: 1,
        uniqueVisitors: 1,
        authenticatedViews: 1,
        anonymousViews: 0,
        avgTimeOnPageMs: null,
        avgScrollDepth: null,
      },
      {
        path: '/signup',
        views: 1,
        uniqueVisitors: 1,
        authenticatedViews: 0,
        anonymousViews: 1,
        avgTimeOnPageMs: null,
        avgScrollDepth: null,
      },
    ]);
    expect(await f.store.sessions(q)).toEqual({
      sessions: 3,
      authenticatedSessions: 1,
      anonymousSessions: 2,
      pageViews: 7,
      bounces: 1,
      avgDurationMs: (180_000 + 0 + 60_000) / 3,
      pagesPerSession: 7 / 3,
      bounceRate: 1 / 3,
    });
    const conversions = await f.store.conversions(q);
    expect(conversions).toEqual({
      signups: 1,
      visitorSessions: 2,
      convertedSessions: 1,
      conversionRate: 0.5,
      conversions: [signup],
      byLandingPage: [{ path: '/posts/:id', conversions: 1 }],
      byReferrer: [{ referrerHost: 'news.ycombinator.com', conversions: 1 }],
    });
    expect(await f.store.funnel(q, ['/posts/*', '/pricing', '/signup'])).toEqual([
      { step: '/posts/*', sessions: 1 },
      { step: '/pricing', sessions: 0 },
      { step: '/signup', sessions: 0 },
    ]);
    expect(await f.store.funnel(q, ['/posts/*', '/signup'])).toEqual([
      { step: '/posts/*', sessions: 1 },
      { step: '/signup', sessions: 1 },
    ]);
    expect(await f.store.journeys({ ...q, maxSteps: 5 })).toEqual([
      { steps: ['/', '/pricing'], sessions: 1 },
      { steps: ['/posts/:id', '/signup', '(signup)'], sessions: 1 },
      { steps: ['/pricing'], sessions: 1 },
    ]);
    expect(await f.store.referrers(q)).toEqual([
      { referrerHost: null, sessions: 2 },
      { referrerHost: 'news.ycombinator.com', sessions: 1 },
    ]);
    expect(await f.store.campaigns(q)).toEqual([
      { utmSource: 'hn', utmMedium: null, utmCampaign: 'launch', sessions: 1 },
    ]);
    expect(await f.store.devices(q)).toEqual({
      devices: [
        { device: 'desktop', sessions: 2 },
        { device: 'mobile', sessions: 1 },
      ],
      browsers: [
        { browser: 'Firefox', sessions: 2 },
        { browser: 'Mobile Safari', sessions: 1 },
      ],
      os: [
        { os: 'Linux', sessions: 2 },
        { os: 'iOS', sessions: 1 },
      ],
    });
    expect(await f.store.bots(q)).toEqual({ views: 0, sessions: 0, topPaths: [] });
    expect(await f.store.topPages({ ...q, path: '/posts/*', limit: 1 })).toHaveLength(1);
  });
});

// Aggregates equal a recomputation from the stored page views, after any replay: generated traffic, written
// once, then an arbitrary selection of its batches replayed under new ids in an arbitrary order.
describe.each(list.filter((b) => b.name === 'pglite'))('properties on $name', (backend) => {
  it('aggregates and every report equal the truth after any replay', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (seed, replays) => {
          const t = generateTraffic({ seed, visitors: 12, days: 2, batchSize: 25 });
          const f = await freshStore(backend);
          try {
            for (const b of t.batches) await f.store.write(b);
            for (const r of replays) {
              const again = t.batches[r % t.batches.length]!;
              expect(
                await f.store.write({ id: `replay-${r}-${again.id}`, events: [...again.events].reverse() }),
              ).toEqual({
                applied: true,
                written: 0,
              });
            }
            const all = { from: t.from, to: t.to, limit: 1_000 };
            expect(await f.probe.aggregates()).toEqual(t.truth.aggregates(all));
            expectReportsEqual(await readReports(f.store, all), t.truth.reports(all), `seed ${seed}`);
          } finally {
            await f.cleanup();
          }
        },
      ),
      { numRuns: 4 },
    );
  }, 240_000);
});
