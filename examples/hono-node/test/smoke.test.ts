import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, start } from '../src/app.js';

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const ALL_DAYS = { from: '2000-01-01', to: '2999-12-31' };

// PGlite runs in this process: nothing to reach, nothing to skip.
describe('hono-node example', () => {
  let running: RunningExample;

  beforeAll(async () => {
    running = await start({ port: 0 });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('a browser visit over HTTP shows in the top pages, under its route pattern', async () => {
    for (const path of ['/', '/posts/1', '/posts/3']) {
      const response = await fetch(`${running.url}${path}`, { headers: BROWSER });
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/data-view="[0-9a-f-]{36}"/);
    }
    const missing = await fetch(`${running.url}/posts/404`, { headers: BROWSER });
    expect(missing.status).toBe(404);
    await missing.text();

    await running.tracker.flush();
    const top = await running.store.topPages(ALL_DAYS);
    expect(top.map((r) => [r.path, r.views, r.uniqueVisitors])).toEqual([
      ['/posts/:id', 2, 1],
      ['/', 1, 1],
    ]);
    expect(await running.store.sessions(ALL_DAYS)).toMatchObject({ sessions: 1, anonymousSessions: 1 });
  });

  it('the beacon adds engaged time to the page it was sent from', async () => {
    const page = await fetch(`${running.url}/`, { headers: BROWSER });
    const viewId = /data-view="([^"]+)"/.exec(await page.text())?.[1];
    const beacon = await fetch(`${running.url}/_anon/e`, {
      method: 'POST',
      headers: { 'user-agent': BROWSER['user-agent'], 'content-type': 'text/plain' },
      body: JSON.stringify({ t: 'e', v: viewId, ms: 12_000, sd: 80 }),
    });
    expect(beacon.status).toBe(204);
    await running.tracker.flush();
    const home = (await running.store.topPages({ ...ALL_DAYS, path: '/' }))[0];
    expect(home).toMatchObject({ path: '/', views: 2, avgScrollDepth: 80 });
  });

  it('a sign-up converts the visitor, and the stats page shows it all', async () => {
    const signup = await fetch(`${running.url}/signup`, {
      method: 'POST',
      headers: BROWSER,
      redirect: 'manual',
    });
    expect(signup.status).toBe(303);
    const cookie = signup.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(cookie).toMatch(/^demo_user=user-[0-9a-f]{8}$/);
    const welcome = await fetch(`${running.url}/welcome`, { headers: { ...BROWSER, cookie } });
    expect(await welcome.text()).toContain('signed in as user-');

    await running.tracker.flush();
    const conversions = await running.store.conversions(ALL_DAYS);
    expect(conversions.signups).toBe(1);
    expect(conversions.byLandingPage).toEqual([{ path: '/', conversions: 1 }]);
    const welcomeRow = (await running.store.topPages({ ...ALL_DAYS, path: '/welcome' }))[0];
    expect(welcomeRow).toMatchObject({ views: 1, authenticatedViews: 1, anonymousViews: 0 });

    const html = await (await fetch(`${running.url}/stats`, { headers: BROWSER })).text();
    expect(html).toContain('<td>/posts/:id</td><td>2</td>');
    expect(html).toContain('1 sign-up(s)');
  });
});
