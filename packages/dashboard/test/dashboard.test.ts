import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ActiveVisitors, AnonError } from '@anon/core';
import { memoryStore } from '@anon/core/memory';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysOf } from '../src/date-range.js';
import {
  createDashboard,
  type DashboardContext,
  type DashboardOptions,
  type DashboardSummary,
  escapeHtml,
  isLoopback,
  MAX_RANGE_DAYS,
  type NodeResponseLike,
  parseRange,
  parseSteps,
  toNodeHandler,
} from '../src/index.js';
import { NOW, type Seeded, seedTraffic, XSS } from './seed.js';

const LOCAL = { remoteAddress: '127.0.0.1' };
const RANGE = { from: '2026-01-14', to: '2026-01-15' };

let seeded: Seeded;
beforeAll(async () => {
  seeded = await seedTraffic();
});
afterAll(async () => {
  await seeded.tracker.close();
});

function dashboard(options: Partial<Parameters<typeof createDashboard>[0]> = {}) {
  return createDashboard({ store: seeded.store, tracker: seeded.tracker, clock: seeded.clock, ...options });
}

async function get(path: string, context: DashboardContext = LOCAL, options: Partial<DashboardOptions> = {}) {
  return dashboard(options)(new Request(`http://localhost${path}`), context);
}

describe('the page', () => {
  it('shows every panel for the range, with the numbers of the reports', async () => {
    const res = await get('/?from=2026-01-14&to=2026-01-15&steps=/,/posts/*');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const body = await res.text();
    const { total } = await seeded.store.overview(RANGE);
    // The story: two visitors yesterday, four today (yesterday's reader among them, counted again on a new
    // day), the crawler apart.
    expect(total.uniqueVisitors).toBe(6);
    expect(total.botViews).toBe(2);
    for (const [testId, value] of [
      ['overview-visitors', total.uniqueVisitors],
      ['overview-page-views', total.pageViews],
      ['overview-anonymous-views', total.anonymousViews],
      ['overview-authenticated-views', total.authenticatedViews],
      ['overview-sessions', total.sessions],
      ['overview-bounce-rate', total.bounceRate],
      ['overview-bounces', total.bounces],
      ['overview-avg-duration', total.avgDurationMs],
      ['overview-bot-views', total.botViews],
      ['realtime-total', 1],
    ] as const) {
      expect(body).toContain(`data-testid="${testId}" data-value="${value}"`);
    }
    for (const row of await seeded.store.entryPages({ ...RANGE, limit: 10 })) {
      expect(body).toContain(
        `data-testid="entry-page" data-key="${escapeHtml(row.path)}" data-null="false" data-value="${row.sessions}" data-bounces="${row.bounces}"`,
      );
    }
    for (const row of await seeded.store.exitPages({ ...RANGE, limit: 10 })) {
      expect(body).toContain(
        `data-testid="exit-page" data-key="${escapeHtml(row.path)}" data-null="false" data-value="${row.sessions}"`,
      );
    }
    for (const row of await seeded.store.countries({ ...RANGE, limit: 10 })) {
      expect(body).toContain(
        `data-testid="country" data-key="${row.country ?? ''}" data-null="${row.country === null}" data-value="${row.sessions}" data-views="${row.views}"`,
      );
    }
    for (const label of [
      'Top pages',
      'Entry pages',
      'Exit pages',
      'Countries',
      'Referrers',
      'Campaigns',
      'Devices',
      'Browsers',
      'Operating systems',
      'Conversions',
      'Funnel',
      'Journeys',
      'Bots',
      'Real time',
    ]) {
      expect(body).toContain(`aria-label="${label}"`);
    }
    const funnel = await seeded.store.funnel(RANGE, ['/', '/posts/*']);
    for (const row of funnel) expect(body).toContain(`data-key="${row.step}" data-value="${row.sessions}"`);
    // The chart has one group per day of the range.
    expect(body.match(/data-testid="chart-day"/g)).toHaveLength(2);
  });

  it('escapes what visitors control: paths, referrers and campaigns reach the page as text', async () => {
    const body = await (await get('/?from=2026-01-14&to=2026-01-15')).text();
    expect(body).not.toContain(XSS);
    expect(body).not.toMatch(/<img/i);
    expect(body).toContain(escapeHtml(`/${XSS}`));
    // The only elements on the page are the ones it builds: no script at all.
    expect(body).not.toMatch(/<script/i);
  });

  it('sends a policy that allows no script and no outside resource', async () => {
    const res = await get('/');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).not.toContain('script-src');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('defaults to the last 7 days, today included, in the configured time zone', async () => {
    const summary = (await (await get('/api/summary')).json()) as DashboardSummary;
    expect(summary.range).toEqual({ from: '2026-01-09', to: '2026-01-15' });
    expect(summary.series.map((p) => p.day)).toEqual(daysOf(summary.range));
    // 02:00 UTC on the 16th is still the 15th in Toronto.
    const clock = { now: () => NOW + 14 * 3_600_000 };
    const toronto = (await (
      await get('/api/summary', LOCAL, { clock, timeZone: 'America/Toronto' })
    ).json()) as DashboardSummary;
    expect(toronto.range.to).toBe('2026-01-15');
    const utc = (await (await get('/api/summary', LOCAL, { clock })).json()) as DashboardSummary;
    expect(utc.range.to).toBe('2026-01-16');
  });

  it('answers a bad range with 400 and says why', async () => {
    for (const q of [
      'from=2026-02-30',
      'from=2026-01-15&to=2026-01-14',
      'from=2024-01-01&to=2026-01-01',
      'to=yesterday',
    ]) {
      const page = await get(`/?${q}`);
      expect(page.status).toBe(400);
      const api = await get(`/api/summary?${q}`);
      expect(api.status).toBe(400);
      expect(((await api.json()) as { error: string }).error).toMatch(/day|after|at most/);
    }
  });

  it('shows the funnel form with a reason when the steps are not paths', async () => {
    const body = await (await get('/?steps=pricing,signup')).text();
    expect(body).toContain('data-testid="funnel-error"');
  });
});

describe('/api/summary', () => {
  it('returns the numbers the reports return, called directly', async () => {
    const res = await get('/api/summary?from=2026-01-14&to=2026-01-15&steps=/,/pricing');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const s = (await res.json()) as DashboardSummary;
    const table = { ...RANGE, limit: 10 };
    expect(s.sessions).toEqual(await seeded.store.sessions(RANGE));
    expect(s.topPages).toEqual(await seeded.store.topPages(table));
    expect(s.referrers).toEqual(await seeded.store.referrers(table));
    expect(s.campaigns).toEqual(await seeded.store.campaigns(table));
    expect(s.devices).toEqual(await seeded.store.devices(table));
    expect(s.conversions).toEqual(await seeded.store.conversions(table));
    expect(s.journeys).toEqual(await seeded.store.journeys({ ...table, maxSteps: 5 }));
    expect(s.bots).toEqual(await seeded.store.bots(table));
    expect(s.funnel.rows).toEqual(await seeded.store.funnel(RANGE, ['/', '/pricing']));
    expect(s.realtime).toMatchObject(await seeded.tracker.activeVisitors());
    expect(s.entryPages).toEqual(await seeded.store.entryPages(table));
    expect(s.exitPages).toEqual(await seeded.store.exitPages(table));
    expect(s.countries).toEqual(await seeded.store.countries(table));
    const overview = await seeded.store.overview(RANGE);
    expect(s.overview).toEqual(overview.total);
    expect(s.overview.authenticatedViews + s.overview.anonymousViews).toBe(s.overview.pageViews);
    // The chart has every day of the range, each with its row of the overview.
    expect(s.series).toEqual(
      overview.days.map((d) => ({
        day: d.day,
        views: d.pageViews,
        authenticatedViews: d.authenticatedViews,
        anonymousViews: d.anonymousViews,
        visitors: d.uniqueVisitors,
      })),
    );
    // Site-wide uniques, not per page: the same views, summed per page, count more visitors.
    const aggregates = await seeded.store.aggregates(RANGE);
    expect(s.overview.pageViews).toBe(aggregates.reduce((n, r) => n + r.views, 0));
    expect(s.overview.uniqueVisitors).toBeLessThan(aggregates.reduce((n, r) => n + r.uniqueVisitors, 0));
    // The story: one signup, whose first landing page was the home page.
    expect(s.conversions.signups).toBe(1);
    expect(s.conversions.byLandingPage).toEqual([{ path: '/', conversions: 1 }]);
    expect(s.bots.views).toBe(2);
  });

  it('reads real time from a hot store when there is no tracker', async () => {
    const s = (await (
      await get('/api/summary', LOCAL, { tracker: undefined, hot: seeded.hot })
    ).json()) as DashboardSummary;
    expect(s.realtime?.total).toBe(1);
    const none = (await (
      await get('/api/summary', LOCAL, { tracker: undefined })
    ).json()) as DashboardSummary;
    expect(none.realtime).toBeNull();
  });

  it('answers /api/realtime with the split, overall and per scope asked, without running a report', async () => {
    const res = await get('/api/realtime?scope=page:/posts/:id&scope=page:/nowhere');
    expect(res.status).toBe(200);
    const body = (await res.json()) as DashboardSummary['realtime'];
    const overall = await seeded.tracker.activeVisitors();
    expect(body).toMatchObject({ ...overall, windowMinutes: 5, error: null });
    expect(body?.scopes).toEqual([
      { scope: 'page:/posts/:id', ...(await seeded.tracker.activeVisitors('page:/posts/:id')) },
      { scope: 'page:/nowhere', total: 0, authenticated: 0, anonymous: 0 },
    ]);
    expect((await get('/api/realtime', { remoteAddress: '203.0.113.9' })).status).toBe(403);
    expect((await get('/api/realtime', LOCAL, { tracker: undefined })).status).toBe(404);
  });

  it('lists configured real-time scopes', async () => {
    const s = (await (
      await get('/api/summary', LOCAL, { realtimeScopes: ['page:/posts/:id', 'page:/nowhere'] })
    ).json()) as DashboardSummary;
    expect(s.realtime?.scopes.map((r) => [r.scope, r.total])).toEqual([
      ['page:/posts/:id', (await seeded.tracker.activeVisitors('page:/posts/:id')).total],
      ['page:/nowhere', 0],
    ]);
  });

  it('shows the authenticated / anonymous split once the real-time source reports one', async () => {
    // A custom real-time source: the split is shown as given.
    const split = { activeVisitors: async () => ({ total: 5, authenticated: 2, anonymous: 3 }) };
    const body = await (await get('/', LOCAL, { tracker: split })).text();
    expect(body).toContain('data-testid="realtime-authenticated" data-value="2"');
    expect(body).toContain('data-testid="realtime-anonymous" data-value="3"');
  });

  it('shows the other panels when the hot store is down', async () => {
    // Fault injection: a hot store whose backend refuses every call.
    const down = {
      activeVisitors: async (): Promise<ActiveVisitors> => {
        throw new AnonError('hot_store_failed', 'connect ECONNREFUSED redis.internal:6379', {
          source: 'redis',
        });
      },
    };
    const lines: string[] = [];
    const res = await get('/?from=2026-01-14&to=2026-01-15', LOCAL, {
      tracker: undefined,
      hot: down,
      logger: { error: (m) => lines.push(m) },
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('data-testid="realtime-error"');
    expect(body).toContain('hot_store_failed');
    expect(body).not.toContain('redis.internal');
    expect(body).toContain('data-testid="overview-page-views"');
    expect(lines).toEqual(['[anon] [dashboard] real time failed']);
  });

  it('answers 503 with the error code only when a report fails', async () => {
    const store = memoryStore();
    const broken = {
      ...store,
      topPages: async () => {
        throw new AnonError('store_unavailable', 'connect ECONNREFUSED db.internal:5432', {
          source: 'postgres',
        });
      },
    };
    const lines: string[] = [];
    const clock = { at: Date.UTC(2026, 0, 15, 12), now: () => clock.at };
    const handler = createDashboard({ store: broken, clock, logger: { error: (m) => lines.push(m) } });
    const res = await handler(new Request('http://localhost/'), LOCAL);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain('store_unavailable');
    expect(body).not.toContain('db.internal');
    expect(lines).toHaveLength(1);
    // Reloads while the store is down log nothing more for a minute; then one line again.
    for (let i = 0; i < 5; i++)
      expect((await handler(new Request('http://localhost/'), LOCAL)).status).toBe(503);
    expect(lines).toHaveLength(1);
    clock.at += 60_000;
    await handler(new Request('http://localhost/'), LOCAL);
    expect(lines).toHaveLength(2);
  });
});

describe('authorize', () => {
  it('refuses by default unless the connection is loopback and not proxied', async () => {
    expect((await get('/', {})).status).toBe(403);
    expect((await get('/', { remoteAddress: '203.0.113.9' })).status).toBe(403);
    expect((await get('/api/summary', { remoteAddress: '10.0.0.1' })).status).toBe(403);
    for (const remoteAddress of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect((await get('/', { remoteAddress })).status).toBe(200);
    }
    const proxied = new Request('http://localhost/', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect((await dashboard()(proxied, LOCAL)).status).toBe(403);
  });

  it('lets the app decide, and refuses when its hook throws', async () => {
    const admin = (req: Request) => req.headers.get('x-admin') === 'yes';
    const handler = dashboard({ authorize: admin });
    const remote = { remoteAddress: '203.0.113.9' };
    expect(
      (await handler(new Request('http://localhost/', { headers: { 'x-admin': 'yes' } }), remote)).status,
    ).toBe(200);
    expect((await handler(new Request('http://localhost/'), LOCAL)).status).toBe(403);
    const throwing = dashboard({
      authorize: () => {
        throw new Error('session store down');
      },
    });
    expect((await throwing(new Request('http://localhost/'), LOCAL)).status).toBe(403);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.255.255.254', '::1', '[::1]', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(
      ['128.0.0.1', '::2', '::ffff:10.0.0.1', '1270.0.0.1', '127.0.0', '', 'localhost'].some(isLoopback),
    ).toBe(false);
    expect(isLoopback(null)).toBe(false);
  });
});

describe('routing', () => {
  it('answers under its base path only', async () => {
    const opts = { basePath: '/_anon/dashboard/' };
    expect((await get('/_anon/dashboard', LOCAL, opts)).status).toBe(200);
    expect((await get('/_anon/dashboard/', LOCAL, opts)).status).toBe(200);
    expect((await get('/_anon/dashboard/api/summary', LOCAL, opts)).status).toBe(200);
    expect((await get('/_anon/dashboardx', LOCAL, opts)).status).toBe(404);
    expect((await get('/', LOCAL, opts)).status).toBe(404);
    expect((await get('/_anon/dashboard/nope', LOCAL, opts)).status).toBe(404);
    const body = await (await get('/_anon/dashboard/', LOCAL, opts)).text();
    expect(body).toContain('action="/_anon/dashboard/"');
  });

  it('answers only GET and HEAD', async () => {
    const post = await dashboard()(new Request('http://localhost/', { method: 'POST' }), LOCAL);
    expect(post.status).toBe(405);
    const head = await dashboard()(new Request('http://localhost/', { method: 'HEAD' }), LOCAL);
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('rejects bad options with a typed error', () => {
    expect(() => createDashboard({ store: seeded.store, basePath: 'dashboard' })).toThrow(/basePath/);
    expect(() => createDashboard({ store: seeded.store, limit: 0 })).toThrow(/limit/);
    expect(() => createDashboard(undefined as never)).toThrow(/store/);
  });
});

describe('toNodeHandler', () => {
  it('serves the dashboard on node:http with the socket address for authorize', async () => {
    const server = createServer((req, res) => {
      void toNodeHandler(dashboard({ basePath: '/dash' }))(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const page = await fetch(`http://127.0.0.1:${port}/dash/?from=2026-01-14&to=2026-01-15`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('data-testid="overview-page-views"');
      const api = await fetch(`http://127.0.0.1:${port}/dash/api/summary?from=2026-01-14&to=2026-01-15`);
      expect(((await api.json()) as DashboardSummary).sessions).toEqual(await seeded.store.sessions(RANGE));
      const proxied = await fetch(`http://127.0.0.1:${port}/dash/`, {
        headers: { forwarded: 'for=203.0.113.9' },
      });
      expect(proxied.status).toBe(403);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('uses Express’s originalUrl when mounted under a prefix', async () => {
    // Express strips the mount path from req.url and keeps the full one in req.originalUrl.
    const headers: Record<string, string | string[]> = {};
    let body = '';
    const res: NodeResponseLike = {
      statusCode: 0,
      setHeader(name, value) {
        headers[name] = value;
      },
      end(chunk) {
        body = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      },
    };
    const req = {
      method: 'GET',
      url: '/api/summary',
      originalUrl: '/dash/api/summary',
      headers: {},
      socket: { remoteAddress: '::1' },
    };
    await toNodeHandler(dashboard({ basePath: '/dash' }))(req, res);
    expect(res.statusCode).toBe(200);
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(body)).toHaveProperty('range');
  });
});

describe('invariants', () => {
  it('escapeHtml leaves no markup character and loses nothing', () => {
    const decode = (s: string) =>
      s
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&#96;/g, '`')
        .replace(/&amp;/g, '&');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite' }), (s) => {
        const e = escapeHtml(s);
        expect(e).not.toMatch(/[<>"'`]/);
        expect(e.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
        expect(decode(e)).toBe(s);
      }),
    );
  });

  it('any path or country a store returns renders as text, never as markup', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (tail) => {
        const path = `/<b id="x">${tail}`;
        const store = memoryStore();
        const reports = {
          ...store,
          entryPages: async () => [{ path, sessions: 2, bounces: 1 }],
          exitPages: async () => [{ path, sessions: 2 }],
          countries: async () => [{ country: `<b id="x">${tail}`, sessions: 2, views: 3 }],
          topPages: async () => [
            {
              path,
              views: 1,
              uniqueVisitors: 1,
              authenticatedViews: 0,
              anonymousViews: 1,
              avgTimeOnPageMs: null,
              avgScrollDepth: null,
            },
          ],
        };
        const body = await (
          await createDashboard({ store: reports })(new Request('http://l/'), LOCAL)
        ).text();
        expect(body).not.toContain('<b id=');
        expect(body.split(escapeHtml(path)).length - 1).toBeGreaterThanOrEqual(3 * 2); // three panels, label and title each
        expect(body).toContain(escapeHtml(`<b id="x">${tail}`));
      }),
      { numRuns: 30 },
    );
  });

  it('a range within the limit is taken as asked, and its days are counted once each', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }),
        fc.integer({ min: 0, max: MAX_RANGE_DAYS - 1 }),
        (start, span) => {
          const from = new Date(start).toISOString().slice(0, 10);
          const to = new Date(Date.parse(from) + span * 86_400_000).toISOString().slice(0, 10);
          const range = parseRange(new URLSearchParams({ from, to }), NOW, 'UTC');
          expect(range).toEqual({ from, to });
          expect(daysOf(range)).toHaveLength(span + 1);
        },
      ),
    );
  });

  it('funnel steps are paths, at most eight, and each at most 500 characters', () => {
    expect(parseSteps('/, /pricing ,/signup')).toEqual({ steps: ['/', '/pricing', '/signup'], error: null });
    expect(parseSteps(null)).toEqual({ steps: [], error: null });
    expect(parseSteps('/a,/b,/c,/d,/e,/f,/g,/h,/i').error).toMatch(/at most 8/);
    expect(parseSteps(`/${'x'.repeat(900)}`).steps[0]).toHaveLength(500);
  });
});
