import { existsSync } from 'node:fs';
import { SCRIPT } from '@anon/browser';
import type { MemoryStoreContents } from '@anon/core/memory';
import { type Browser, type BrowserContext, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, start } from '../../../examples/browser-spa/src/app.js';

// Real headless Chromium against examples/browser-spa: the page script measures, the binding answers, the
// tracker records, and the memory store holds what a report would read.

const CHROMIUM = '/usr/bin/chromium';
const CI = process.env.CI === 'true';
const available = existsSync(CHROMIUM);
if (!available && !CI) {
  console.warn(
    `@anon/browser e2e: skipped, ${CHROMIUM} is missing (apt-get install chromium); CI=true fails instead`,
  );
}

// A headless user agent reads as a bot to the tracker: the context presents itself as desktop Chrome.
const DESKTOP_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const THIRTY_ONE_MINUTES = 31 * 60_000;

/** A beacon request of the given kind (`e` engagement, `p` navigation). */
function isBeacon(kind: 'e' | 'p') {
  return (request: Request) =>
    request.method() === 'POST' &&
    new URL(request.url()).pathname === '/_anon/e' &&
    (request.postData() ?? '').includes(`"t":"${kind}"`);
}

async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { value, configurable: true });
    Object.defineProperty(document, 'hidden', { value: value === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** Mouse moves every 100 ms for `ms`: a reader who is there. */
async function beActive(page: Page, ms: number): Promise<void> {
  for (let waited = 0; waited < ms; waited += 100) {
    await page.mouse.move(100 + (waited % 300), 200);
    await page.waitForTimeout(100);
  }
}

describe.skipIf(!available && !CI)('@anon/browser in headless Chromium', () => {
  let running: RunningExample;
  let browser: Browser;
  let skew = 0;
  let stored: MemoryStoreContents;
  /** Test-side timings of the story, in ms. */
  const timing = { homeShortest: 0, homeLongest: 0, aboutEngaged: 0, aboutWall: 0 };
  /** What the binding answered to the SPA navigation's beacon. */
  let navigationAnswer: { status: number; viewId: string | null } = { status: 0, viewId: null };

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing: .ci/run installs chromium`);
    running = await start({
      port: 0,
      tracker: {
        // The clock is moved past the session timeout at the end, so the sweeper finalizes the session.
        clock: { now: () => Date.now() + skew },
        sweeper: false,
        routes: ['/posts/:id'],
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({
      userAgent: DESKTOP_CHROME,
      viewport: { width: 1280, height: 800 },
    });

    // 1. Home: scroll to the bottom, like three times, press a key, then follow an SPA link to /posts/42.
    const home = await context.newPage();
    const requestedAt = Date.now();
    await home.goto(`${running.url}/`);
    const loadedAt = Date.now();
    await home.mouse.move(200, 200);
    await home.mouse.wheel(0, 100_000);
    await home.waitForFunction(() => scrollY + innerHeight >= document.documentElement.scrollHeight - 1);
    for (let i = 0; i < 3; i++) await home.click('#like');
    await home.keyboard.press('a');
    await beActive(home, 700);
    const leftHome = home.waitForRequest(isBeacon('e'));
    const navigated = home.waitForResponse((response) => isBeacon('p')(response.request()));
    const clickedAt = Date.now();
    await home.click('#post-42');
    await leftHome;
    const answer = await navigated;
    // The home view was recorded between its request and its load, the navigation between the click and its
    // answer: its time on page lies between these bounds, however slow the machine.
    timing.homeShortest = clickedAt - loadedAt;
    timing.homeLongest = Date.now() - requestedAt;
    const body = (await answer.json().catch(() => ({}))) as { v?: unknown };
    navigationAnswer = { status: answer.status(), viewId: typeof body.v === 'string' ? body.v : null };
    expect(await home.title()).toBe('Post 42');

    // 2. On /posts/42: like twice, then hide the tab. The page reports only if the server named its view.
    await beActive(home, 500);
    await home.click('#like');
    await home.click('#like');
    const postReported =
      navigationAnswer.viewId === null ? Promise.resolve(null) : home.waitForRequest(isBeacon('e'));
    await setVisibility(home, 'hidden');
    await postReported;
    await home.close();

    // 3. A full page load of /about, read for a while, hidden for a while (not counted), read again, hidden.
    const about = await context.newPage();
    const aboutStart = Date.now();
    await about.goto(`${running.url}/about`);
    await beActive(about, 1_500);
    const firstHide = about.waitForResponse((response) => isBeacon('e')(response.request()));
    const hiddenAt = Date.now();
    await setVisibility(about, 'hidden');
    await firstHide;
    await about.waitForTimeout(2_000);
    const shownAt = Date.now();
    await setVisibility(about, 'visible');
    await beActive(about, 500);
    const secondHide = about.waitForResponse((response) => isBeacon('e')(response.request()));
    const endedAt = Date.now();
    await setVisibility(about, 'hidden');
    await secondHide;
    await about.close();
    timing.aboutEngaged = hiddenAt - aboutStart + (endedAt - shownAt);
    timing.aboutWall = endedAt - aboutStart;

    await running.tracker.flush();
    skew = THIRTY_ONE_MINUTES;
    await running.tracker.sweep();
    await running.tracker.flush();
    stored = running.store.dump();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  const views = () => [...stored.pageViews].sort((a, b) => a.seq - b.seq);
  const metric = (viewId: string, name: string) =>
    stored.metrics.find((m) => m.viewId === viewId && m.metric === name)?.value;

  it('one session of three page views: the home page, the SPA navigation, the full load of /about', () => {
    const [home, post, about] = views();
    expect(views().map((v) => [v.seq, v.url, v.isBot])).toEqual([
      [1, '/', false],
      [2, '/posts/42', false],
      [3, '/about', false],
    ]);
    expect(new Set([home?.sessionId, post?.sessionId, about?.sessionId]).size).toBe(1);
    expect(stored.sessions.find((s) => s.id === home?.sessionId)).toMatchObject({ pageViews: 3 });
  });

  it('the home page carries scroll depth 100 and its five interactions (3 likes, a key, the link)', () => {
    const home = views()[0]!;
    expect(metric(home.id, 'scroll_depth')).toBe(100);
    expect(metric(home.id, 'interactions')).toBe(5);
  });

  it("the home page's time on page runs until the SPA navigation", () => {
    const home = views()[0]!;
    const timeOnPage = metric(home.id, 'time_on_page');
    expect(timeOnPage).toBeGreaterThanOrEqual(timing.homeShortest);
    expect(timeOnPage).toBeLessThanOrEqual(timing.homeLongest);
  });

  it('the last page carries its engaged time, without the time it was hidden', () => {
    const about = views()[2]!;
    const engaged = metric(about.id, 'time_on_page');
    expect(engaged).toBeGreaterThan(timing.aboutEngaged - 1_500);
    expect(engaged).toBeLessThan(timing.aboutEngaged + 1_500);
    // It was hidden for 2 s, which must not count.
    expect(engaged).toBeLessThan(timing.aboutWall - 1_500);
  });

  it('the navigation is answered with the new view id, under which the SPA view reports its engagement', () => {
    const post = views()[1]!;
    expect(navigationAnswer).toEqual({ status: 200, viewId: post.id });
    expect(metric(post.id, 'interactions')).toBe(2);
    expect(metric(post.id, 'scroll_depth')).toBeGreaterThan(0);
  });

  it('the SPA view is counted under its route pattern, /posts/:id', () => {
    expect(views()[1]).toMatchObject({ url: '/posts/42', path: '/posts/:id' });
  });
});

/** One page on a made-up origin, served by the browser itself, with every beacon captured and answered. */
async function scriptedPage(
  browser: Browser,
  contexts: BrowserContext[],
  options: { tag?: string; before?: string; answerNavigations?: boolean },
): Promise<{ page: Page; beacons: Record<string, unknown>[] }> {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME });
  contexts.push(context);
  const beacons: Record<string, unknown>[] = [];
  let views = 1;
  await context.route('http://anon.test/**', async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/_anon/script.js') {
      return route.fulfill({ contentType: 'text/javascript', body: SCRIPT });
    }
    if (url.pathname === '/_anon/e') {
      const beacon = JSON.parse(route.request().postData() ?? 'null') as Record<string, unknown>;
      beacons.push(beacon);
      if (beacon.t === 'p' && options.answerNavigations) {
        views += 1;
        return route.fulfill({ status: 200, json: { v: `v${views}` } });
      }
      return route.fulfill({ status: 204 });
    }
    return route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html><body style="height:4000px">${options.before ?? ''}${
        options.tag ?? '<script src="/_anon/script.js" data-view="v1"></script>'
      }</body></html>`,
    });
  });
  const page = await context.newPage();
  await page.goto('http://anon.test/');
  return { page, beacons };
}

/** Two SPA navigations, then the page is hidden; resolves once `count` beacons arrived and a moment passed. */
async function navigateTwiceAndHide(page: Page, count: number, beacons: unknown[]): Promise<void> {
  await page.evaluate(() => history.pushState(null, '', '/next'));
  await page.evaluate(() => history.pushState(null, '', '/other'));
  await page.waitForTimeout(300);
  await setVisibility(page, 'hidden');
  await expect.poll(() => beacons.length).toBeGreaterThanOrEqual(count);
  // Nothing more arrives after the expected beacons.
  await page.waitForTimeout(300);
}

// Each test opens fresh browser contexts: slow on a loaded machine, hence the longer timeout.
describe.skipIf(!available && !CI)(
  'the page script in headless Chromium, beacons captured',
  { timeout: 60_000 },
  () => {
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    afterEach(async () => {
      for (const context of contexts.splice(0)) await context.close();
    });

    beforeAll(async () => {
      if (!available) throw new Error(`${CHROMIUM} is missing: .ci/run installs chromium`);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('navigations answered with the new view id: each page reports under its own id, in order', async () => {
      const { page, beacons } = await scriptedPage(browser, contexts, { answerNavigations: true });
      await navigateTwiceAndHide(page, 5, beacons);
      expect(beacons).toMatchObject([
        { t: 'e', v: 'v1', sd: expect.any(Number), ix: 0, ms: expect.any(Number) },
        { t: 'p', v: 'v1', u: 'http://anon.test/next', r: 'http://anon.test/' },
        { t: 'e', v: 'v2' },
        { t: 'p', v: 'v2', u: 'http://anon.test/other', r: 'http://anon.test/next' },
        { t: 'e', v: 'v3' },
      ]);
      expect(beacons).toHaveLength(5);
    });

    it('navigations answered 204: the pages after the first have no view id, so only navigations are sent', async () => {
      const { page, beacons } = await scriptedPage(browser, contexts, { answerNavigations: false });
      await navigateTwiceAndHide(page, 3, beacons);
      expect(beacons).toMatchObject([
        { t: 'e', v: 'v1' },
        { t: 'p', v: 'v1', u: 'http://anon.test/next' },
        { t: 'p', v: null, u: 'http://anon.test/other' },
      ]);
      expect(beacons).toHaveLength(3);
    });

    it('a hash change or a replaceState to the same page is no navigation; going back is one', async () => {
      const { page, beacons } = await scriptedPage(browser, contexts, {});
      await page.evaluate(() => {
        location.hash = '#section';
        history.replaceState(null, '', location.href);
      });
      await page.evaluate(() => history.pushState(null, '', '/next'));
      await expect.poll(() => beacons.length).toBe(2);
      await page.goBack();
      await expect.poll(() => beacons.length).toBe(3);
      expect(beacons[2]).toMatchObject({ t: 'p', u: 'http://anon.test/', r: 'http://anon.test/next' });
    });

    it('data-anon-off, window.anonOff, Do Not Track and Global Privacy Control each turn it off entirely', async () => {
      for (const options of [
        { tag: '<script src="/_anon/script.js" data-view="v1" data-anon-off></script>' },
        { before: '<script>window.anonOff = true</script>' },
        {
          before:
            "<script>Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })</script>",
        },
        {
          before:
            "<script>Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })</script>",
        },
      ]) {
        const { page, beacons } = await scriptedPage(browser, contexts, options);
        await page.evaluate(() => history.pushState(null, '', '/next'));
        await setVisibility(page, 'hidden');
        await page.waitForTimeout(300);
        expect(beacons).toEqual([]);
      }
    });
  },
);
