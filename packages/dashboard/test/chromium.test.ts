import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTracker, type ReportQuery, type Tracker } from '@anon/core';
import { type MemoryStore, memoryHotStore, memoryStore } from '@anon/core/memory';
import { generateTraffic } from '@anon/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, toNodeHandler } from '../src/index.js';
import { FIREFOX, fakeClock } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/images/dashboard.png');
const BASE = '/_anon/dashboard';
const FROM = '2026-01-02';
const TO = '2026-01-15';
const STEPS = ['/posts/*', '/pricing', '/signup'];
const SCOPES = ['community:montreal', 'community:paris', 'community:tokyo'];
const LIMIT = 10;

const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI === 'true') {
    it('runs in Chromium', () => {
      expect.fail(`${CHROMIUM} is missing: CI installs Debian's chromium (apt-get install -y chromium)`);
    });
  } else {
    console.log(`[dashboard] Chromium test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  }
}

/** Two weeks of seeded traffic written through core's reducers, then live visitors through the real tracker. */
async function seed(): Promise<{ store: MemoryStore; tracker: Tracker }> {
  const traffic = generateTraffic({ seed: 16, visitors: 260, days: 14, start: FROM });
  const store = memoryStore();
  for (const batch of traffic.batches) await store.write(batch);
  const clock = fakeClock(Date.UTC(2026, 0, 15, 23, 58));
  const tracker = createTracker({
    store,
    hot: memoryHotStore(),
    clock,
    sweeper: false,
    logger: { warn() {}, error() {} },
  });
  // People reading right now, some in a community, one logged in.
  const live = [
    ['/communities/montreal', 'community:montreal', null],
    ['/communities/montreal', 'community:montreal', 'user-live'],
    ['/communities/paris', 'community:paris', null],
    ['/posts/12', null, null],
    ['/', null, null],
  ] as const;
  live.forEach(([url, scope, userId], i) => {
    tracker.track({
      method: 'GET',
      url,
      headers: { accept: 'text/html', 'user-agent': FIREFOX, host: 'example.com' },
      ip: `198.51.100.${200 + i}`,
      status: 200,
      route: url.startsWith('/posts/')
        ? '/posts/:id'
        : url.startsWith('/communities/')
          ? '/communities/:slug'
          : url,
      scope,
      userId,
    });
  });
  await tracker.flush();
  return { store, tracker };
}

interface Row {
  key: string | null;
  value: number;
  text: string;
  label: string;
}

async function rows(page: Page, testId: string): Promise<Row[]> {
  return page.$$eval(`[data-testid="${testId}"]`, (els) =>
    els.map((e) => {
      const el = e as HTMLElement;
      return {
        key: el.dataset.null === 'true' ? null : (el.dataset.key ?? null),
        value: Number(el.dataset.value),
        text: el.querySelector('td.num')?.textContent ?? '',
        label: el.querySelector('.text')?.textContent ?? '',
      };
    }),
  );
}

async function figure(page: Page, testId: string): Promise<{ value: string; text: string }> {
  const el = page.locator(`[data-testid="${testId}"]`);
  return { value: (await el.getAttribute('data-value')) ?? '', text: (await el.textContent()) ?? '' };
}

const count = (text: string) => Number(text.replace(/,/g, ''));

describe.skipIf(!available)('the dashboard in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let store: MemoryStore;
  let tracker: Tracker;
  let page: Page;
  let firstUrl = '';
  const problems: string[] = [];
  const q: ReportQuery = { from: FROM, to: TO };
  const table = { ...q, limit: LIMIT };

  beforeAll(async () => {
    ({ store, tracker } = await seed());
    const dashboard = createDashboard({
      store,
      tracker,
      basePath: BASE,
      realtimeScopes: SCOPES,
      limit: LIMIT,
    });
    const handle = toNodeHandler(dashboard);
    server = createServer((req, res) => {
      void handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    // A CSP violation or a failed request shows up here: the page must need nothing it does not carry.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    const { port } = server.address() as AddressInfo;
    const search = new URLSearchParams({ from: FROM, to: TO, steps: STEPS.join(',') });
    firstUrl = `http://127.0.0.1:${port}${BASE}/?${search}`;
    const response = await page.goto(firstUrl);
    expect(response?.status()).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await tracker?.close();
  });

  it('loads with no error, no blocked resource and no request outside the page', () => {
    expect(problems).toEqual([]);
  });

  it('shows the overview figures of the reports', async () => {
    const { total } = await store.overview(q);
    const sessions = await store.sessions(q);
    const conversions = await store.conversions(table);
    const realtime = await tracker.activeVisitors();
    const expected: [string, number][] = [
      ['overview-visitors', total.uniqueVisitors],
      ['overview-page-views', total.pageViews],
      ['overview-anonymous-views', total.anonymousViews],
      ['overview-authenticated-views', total.authenticatedViews],
      ['overview-sessions', total.sessions],
      ['overview-anonymous-sessions', total.anonymousSessions],
      ['overview-authenticated-sessions', total.authenticatedSessions],
      ['overview-bounces', total.bounces],
      ['overview-bot-views', total.botViews],
      ['overview-signups', conversions.signups],
      ['realtime-total', realtime.total],
      ['realtime-authenticated', realtime.authenticated],
      ['realtime-anonymous', realtime.anonymous],
    ];
    expect(total.pageViews).toBeGreaterThan(100);
    expect(total.botViews).toBeGreaterThan(0);
    for (const [testId, value] of expected) {
      const shown = await figure(page, testId);
      expect({ testId, value: Number(shown.value), text: count(shown.text) }).toEqual({
        testId,
        value,
        text: value,
      });
    }
    const bounce = await figure(page, 'overview-bounce-rate');
    expect(bounce.text).toBe(`${((total.bounceRate ?? 0) * 100).toFixed(1)}%`);
    expect(Number((await figure(page, 'overview-avg-duration')).value)).toBe(total.avgDurationMs);
    expect(Number((await figure(page, 'overview-pages-per-session')).value)).toBe(sessions.pagesPerSession);
    const rate = await figure(page, 'overview-conversion-rate');
    expect(rate.text).toBe(`${((conversions.conversionRate ?? 0) * 100).toFixed(1)}%`);
  });

  it('charts page views and site-wide unique visitors for each day of the range', async () => {
    const overview = await store.overview(q);
    const days = await page.$$eval('[data-testid="chart-day"]', (els) =>
      els.map((e) => {
        const d = (e as SVGGElement).dataset;
        return {
          day: d.day,
          views: Number(d.views),
          authenticated: Number(d.authenticated),
          anonymous: Number(d.anonymous),
          visitors: Number(d.visitors),
        };
      }),
    );
    expect(overview.days).toHaveLength(14);
    expect(days).toEqual(
      overview.days.map((d) => ({
        day: d.day,
        views: d.pageViews,
        authenticated: d.authenticatedViews,
        anonymous: d.anonymousViews,
        visitors: d.uniqueVisitors,
      })),
    );
    expect(await page.locator('svg.chart rect.bar-anon').count()).toBe(14);
  });

  it('lists the top pages of the report', async () => {
    const expected = await store.topPages(table);
    const shown = await page.$$eval('[data-testid="top-page"]', (els) =>
      els.map((e) => {
        const cells = Array.from(e.querySelectorAll('td.num')).map((c) => c.textContent ?? '');
        return { path: e.querySelector('.text')?.textContent, cells: cells.slice(0, 4) };
      }),
    );
    expect(shown).toEqual(
      expected.map((r) => ({
        path: r.path,
        cells: [r.views, r.uniqueVisitors, r.authenticatedViews, r.anonymousViews].map((n) =>
          n.toLocaleString('en-US'),
        ),
      })),
    );
  });

  it('shows entry pages with their bounces, exit pages, and countries with their views', async () => {
    const entry = await store.entryPages(table);
    const exit = await store.exitPages(table);
    const countries = await store.countries(table);
    expect(entry.length).toBeGreaterThan(1);
    expect(exit.length).toBeGreaterThan(1);
    expect(countries.length).toBeGreaterThan(1);
    const cells = (testId: string) =>
      page.$$eval(`[data-testid="${testId}"]`, (els) =>
        els.map((e) => {
          const el = e as HTMLElement;
          return {
            key: el.dataset.null === 'true' ? null : (el.dataset.key ?? null),
            label: el.querySelector('.text')?.textContent ?? '',
            numbers: Array.from(el.querySelectorAll('td.num')).map((c) =>
              Number((c.textContent ?? '').replace(/,/g, '')),
            ),
          };
        }),
      );
    expect(await cells('entry-page')).toEqual(
      entry.map((r) => ({ key: r.path, label: r.path, numbers: [r.sessions, r.bounces] })),
    );
    expect(await cells('exit-page')).toEqual(
      exit.map((r) => ({ key: r.path, label: r.path, numbers: [r.sessions] })),
    );
    expect(await cells('country')).toEqual(
      countries.map((r) => ({
        key: r.country,
        label: r.country ?? 'Unknown',
        numbers: [r.sessions, r.views],
      })),
    );
  });

  it('shows referrers, campaigns, devices, browsers and operating systems', async () => {
    const check = (shown: Row[], expected: { key: string | null; value: number }[]) => {
      expect(shown.map((r) => ({ key: r.key, value: r.value, text: count(r.text) }))).toEqual(
        expected.map((r) => ({ ...r, text: r.value })),
      );
    };
    const referrers = await store.referrers(table);
    expect(referrers.length).toBeGreaterThan(1);
    check(
      await rows(page, 'referrer'),
      referrers.map((r) => ({ key: r.referrerHost, value: r.sessions })),
    );
    check(
      await rows(page, 'campaign'),
      (await store.campaigns(table)).map((c) => ({
        key: [c.utmSource, c.utmMedium, c.utmCampaign].map((v) => v ?? '').join('|'),
        value: c.sessions,
      })),
    );
    const devices = await store.devices(table);
    check(
      await rows(page, 'device'),
      devices.devices.map((r) => ({ key: r.device, value: r.sessions })),
    );
    check(
      await rows(page, 'browser'),
      devices.browsers.map((r) => ({ key: r.browser, value: r.sessions })),
    );
    check(
      await rows(page, 'os'),
      devices.os.map((r) => ({ key: r.os, value: r.sessions })),
    );
  });

  it('shows conversions with their landing pages and referrers', async () => {
    const c = await store.conversions(table);
    expect(c.signups).toBeGreaterThan(0);
    expect(Number((await figure(page, 'conversions-signups')).value)).toBe(c.signups);
    expect(count((await figure(page, 'conversions-converted-sessions')).text)).toBe(c.convertedSessions);
    expect(count((await figure(page, 'conversions-visitor-sessions')).text)).toBe(c.visitorSessions);
    expect((await rows(page, 'conversion-landing')).map((r) => [r.label, r.value])).toEqual(
      c.byLandingPage.map((r) => [r.path, r.conversions]),
    );
    expect((await rows(page, 'conversion-referrer')).map((r) => [r.key, r.value])).toEqual(
      c.byReferrer.map((r) => [r.referrerHost, r.conversions]),
    );
  });

  it('builds the funnel from the steps in the query', async () => {
    const expected = await store.funnel(q, STEPS);
    expect((await rows(page, 'funnel-step')).map((r) => [r.label, count(r.text)])).toEqual(
      expected.map((r) => [r.step, r.sessions]),
    );
    expect(await page.locator('form.funnel input[name="steps"]').inputValue()).toBe(STEPS.join(', '));
  });

  it('shows journeys and bots', async () => {
    const journeys = await store.journeys({ ...table, maxSteps: 5 });
    const shown = await page.$$eval('[data-testid="journey"]', (els) =>
      els.map((e) => ({
        steps: Array.from(e.querySelectorAll('.step')).map((s) => s.textContent),
        sessions: Number((e as HTMLElement).dataset.value),
      })),
    );
    expect(shown).toEqual(journeys.map((j) => ({ steps: j.steps, sessions: j.sessions })));
    const bots = await store.bots(table);
    expect(bots.views).toBeGreaterThan(0);
    expect(count((await figure(page, 'bots-views')).text)).toBe(bots.views);
    expect(count((await figure(page, 'bots-sessions')).text)).toBe(bots.sessions);
    expect((await rows(page, 'bot-path')).map((r) => [r.label, r.value])).toEqual(
      bots.topPaths.map((r) => [r.path, r.views]),
    );
  });

  it('shows who is on the site now, overall and per scope', async () => {
    const shown = await rows(page, 'realtime-scope');
    const expected = [
      { key: null, value: (await tracker.activeVisitors()).total },
      ...(await Promise.all(
        SCOPES.map(async (s) => ({ key: s, value: (await tracker.activeVisitors(s)).total })),
      )),
    ];
    expect(expected[0]?.value).toBe(5);
    expect(shown.map((r) => ({ key: r.key, value: r.value }))).toEqual(expected);
  });

  it('changes the range through the form', async () => {
    await page.fill('input[name="from"]', '2026-01-10');
    await Promise.all([page.waitForURL(/from=2026-01-10/), page.click('form.range button')]);
    expect(await page.locator('[data-testid="chart-day"]').count()).toBe(6);
    const { total } = await store.overview({ from: '2026-01-10', to: TO });
    expect(Number((await figure(page, 'overview-page-views')).value)).toBe(total.pageViews);
    expect(Number((await figure(page, 'overview-visitors')).value)).toBe(total.uniqueVisitors);
    // The funnel's steps survive the range change.
    expect(new URL(page.url()).searchParams.get('steps')).toBe(STEPS.join(','));
  });

  it('saves a full-page screenshot for the docs', async () => {
    await page.goto(firstUrl);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
