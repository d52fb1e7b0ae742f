import { createTracker, DEFAULT_CONFIG, type Tracker } from '@anon/core';
import { type MemoryStore, memoryStore } from '@anon/core/memory';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The standard app every binding test serves, so the contract can run the same requests against each framework.
 * With `anon: true` the binding is registered FIRST (before any body parser), with `beaconPath`, `scriptPath` and
 * `matchRoutes` if given, `getUserId` reading the `x-test-user` header (null when absent), what the binding needs
 * to match paths against the app's router (Koa's `router`, Hono's `app`), and no other option:
 *
 * | route | answer |
 * |---|---|
 * | GET `/` | 200 `text/html` `BINDING_PAGES.home` |
 * | GET `/posts/:id` | 200 `text/html` `BINDING_PAGES.post(id)` |
 * | GET `/posts/new` | 200 `text/html` `BINDING_PAGES.newPost`: registered where it wins over `/posts/:id` (before it where the first registered route answers; after it in Fastify, whose router ranks static segments first) |
 * | GET `/blog/:slug` | a router mounted at `/blog` with route `/:slug`: 200 `text/html` `BINDING_PAGES.blog(slug)` |
 * | GET `/article` | 200 `text/html` `BINDING_PAGES.article(anon?.viewId)` (the view id the page hands the beacon) |
 * | GET `/private/page` | 200 `text/html` `BINDING_PAGES.home` (the contract's tracker excludes `/private/*`) |
 * | GET `/assets/app.js` | 200 `application/javascript` `BINDING_PAGES.script` |
 * | POST `/form` | 200 `text/html` `BINDING_PAGES.thanks` (the app's body parser, if it has one, runs) |
 * | GET `/stream` | 200 `text/html`, the chunks of `streamedPage()` written as they come |
 * | POST `/signup` | `await anon.identify(<x-signup-user header>, 'signup')`, then 200 `text/html` `BINDING_PAGES.welcome` |
 * | GET `/missing` | not registered: the framework's own 404 |
 *
 * Register the framework's JSON body parser where it has one (Express `express.json()`, Fastify's built-in),
 * after the binding. `trustProxy` maps to the framework's own setting (Express `trust proxy`, Koa `app.proxy`,
 * Fastify `trustProxy`; Hono has none: the app reads `X-Forwarded-For` in `getIp` only when trusting).
 */
export interface BindingAppOptions {
  /** Register the binding; false serves the same app without it (the byte-for-byte baseline). */
  anon: boolean;
  trustProxy: boolean;
  /** Passed to the binding as `beaconPath` when set. */
  beaconPath?: string;
  /** Passed to the binding as `scriptPath` when set. */
  scriptPath?: string | false;
  /** Passed to the binding as `matchRoutes` when set. */
  matchRoutes?: boolean;
}

/** A server listening on port 0. */
export interface RunningApp {
  /** Base URL, no trailing slash (`http://127.0.0.1:43121`). */
  url: string;
  close(): Promise<void>;
}

/** Starts the standard app (see `BindingAppOptions`) for `tracker` over real HTTP. */
export type StartBindingApp = (tracker: Tracker, options: BindingAppOptions) => Promise<RunningApp>;

/** The bodies the standard app answers with, shared so that every framework serves the same bytes. */
export const BINDING_PAGES = Object.freeze({
  home: '<!doctype html><h1>home</h1>',
  post: (id: string) => `<!doctype html><h1>post ${encodeURIComponent(id)}</h1>`,
  newPost: '<!doctype html><h1>new post</h1>',
  blog: (slug: string) => `<!doctype html><h1>blog ${encodeURIComponent(slug)}</h1>`,
  article: (viewId: string | null | undefined) =>
    `<!doctype html><article data-view="${viewId ?? ''}"></article>`,
  script: 'console.log("app");',
  thanks: '<!doctype html><p>thanks</p>',
  welcome: '<!doctype html><p>welcome</p>',
});

/** Header the standard app's `getUserId` reads. */
export const BINDING_USER_HEADER = 'x-test-user';
/** Header the standard app's `/signup` handler takes the new user's id from. */
export const BINDING_SIGNUP_HEADER = 'x-signup-user';
/** Chunks of `/stream`, and the pause before each chunk after the first. */
export const BINDING_STREAM_CHUNKS: readonly string[] = [
  '<!doctype html><ul>',
  '<li>one</li>',
  '<li>two</li></ul>',
];
export const BINDING_STREAM_GAP_MS = 120;

/** The body of `/stream`: `BINDING_STREAM_CHUNKS`, a pause between each. */
export async function* streamedPage(): AsyncGenerator<string> {
  for (const [i, chunk] of BINDING_STREAM_CHUNKS.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, BINDING_STREAM_GAP_MS));
    yield chunk;
  }
}

const BROWSER: Record<string, string> = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};
const OTHER_BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const DAY_MS = 86_400_000;
const dayAt = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A real tracker whose every method throws when called (and every other property when read). */
function throwingTracker(real: Tracker): Tracker {
  return new Proxy(real, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') throw new Error(`tracker.${String(prop)} exploded`);
      return () => {
        throw new Error(`tracker.${String(prop)}() exploded`);
      };
    },
  });
}

/**
 * The contract every framework binding passes: real servers on port 0, real HTTP (fetch), a real tracker on
 * memory ports and a memory store; everything is checked in what the store holds after `tracker.flush()`.
 */
export function bindingContract(name: string, start: StartBindingApp): void {
  describe(`bindingContract: ${name}`, () => {
    let store: MemoryStore;
    let tracker: Tracker;
    const running: RunningApp[] = [];

    beforeEach(() => {
      store = memoryStore();
      tracker = createTracker({
        store,
        sweeper: false,
        ipMode: 'full',
        excludePaths: [...DEFAULT_CONFIG.excludePaths, '/private/*'],
      });
    });
    afterEach(async () => {
      await Promise.all(running.splice(0).map((app) => app.close()));
      await tracker.close();
    });

    async function serve(
      options: Partial<BindingAppOptions> = {},
      using: Tracker = tracker,
    ): Promise<string> {
      const app = await start(using, { anon: true, trustProxy: false, ...options });
      running.push(app);
      return app.url;
    }
    function send(base: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
      return fetch(base + path, { ...init, headers: { ...BROWSER, ...init.headers } });
    }
    async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
      const res = await send(base, path, { headers });
      await res.arrayBuffer();
      return res;
    }
    /** The view id `/article` hands the beacon: this visitor's latest view, which a navigation must name. */
    async function articleView(base: string): Promise<string> {
      const page = await send(base, '/article');
      const viewId = /data-view="([^"]*)"/.exec(await page.text())?.[1] ?? '';
      expect(viewId).not.toBe('');
      return viewId;
    }
    /** SPA navigations from view `from` to each of `urls` in turn; the ids of the views they started. */
    async function navigate(base: string, from: string, urls: readonly string[]): Promise<string[]> {
      const ids: string[] = [];
      let left = from;
      for (const u of urls) {
        const res = await send(base, '/_anon/e', {
          method: 'POST',
          body: JSON.stringify({ t: 'p', v: left, u }),
        });
        expect(res.status, u).toBe(200);
        left = String(((await res.json()) as { v?: unknown }).v);
        ids.push(left);
      }
      return ids;
    }
    async function stored() {
      await tracker.flush();
      return store.dump();
    }
    async function topPage(path: string) {
      await tracker.flush();
      const now = Date.now();
      const rows = await store.topPages({ from: dayAt(now - DAY_MS), to: dayAt(now + DAY_MS), limit: 1000 });
      return rows.find((row) => row.path === path) ?? null;
    }

    it('tracks a GET HTML page under its route pattern, mounted prefixes included', async () => {
      const base = await serve();
      for (const path of ['/', '/posts/42', '/posts/43', '/blog/hello-world']) {
        expect((await get(base, path)).status).toBe(200);
      }
      const { pageViews } = await stored();
      expect(pageViews.map((v) => v.path).sort()).toEqual(['/', '/blog/:slug', '/posts/:id', '/posts/:id']);
      expect(pageViews.map((v) => v.url).sort()).toEqual([
        '/',
        '/blog/hello-world',
        '/posts/42',
        '/posts/43',
      ]);
      expect((await topPage('/posts/:id'))?.views).toBe(2);
      expect(tracker.stats().tracked).toBe(4);
    });

    it('does not track assets, non-GET requests, 404s or excluded paths', async () => {
      const base = await serve();
      const asset = await get(base, '/assets/app.js', {
        accept: '*/*',
        'sec-fetch-dest': 'script',
        'sec-fetch-mode': 'no-cors',
      });
      expect(asset.status).toBe(200);
      const form = await send(base, '/form', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=ada',
      });
      expect(form.status).toBe(200);
      await form.arrayBuffer();
      expect((await get(base, '/missing')).status).toBe(404);
      expect((await get(base, '/private/page')).status).toBe(200);
      // A control page in the same run, so that "nothing stored" cannot come from a binding that tracks nothing.
      expect((await get(base, '/')).status).toBe(200);
      const { pageViews } = await stored();
      expect(pageViews.map((v) => v.url)).toEqual(['/']);
      expect(tracker.stats().tracked).toBe(1);
    });

    it('marks views authenticated through getUserId', async () => {
      const base = await serve();
      await get(base, '/posts/1', { [BINDING_USER_HEADER]: 'user-1' });
      await get(base, '/posts/2', { 'user-agent': OTHER_BROWSER });
      const row = await topPage('/posts/:id');
      expect(row).toMatchObject({ views: 2, authenticatedViews: 1, anonymousViews: 1 });
      const { pageViews } = store.dump();
      expect(pageViews.find((v) => v.url === '/posts/1')?.userId).toBe('user-1');
      expect(pageViews.find((v) => v.url === '/posts/2')?.authenticated).toBe(false);
    });

    it("turns identify(…, 'signup') into a conversion attributed to the landing page", async () => {
      const base = await serve();
      await get(base, '/', { referer: 'https://news.example.com/item?id=7' });
      await get(base, '/posts/9', { referer: `${base}/` });
      const signup = await send(base, '/signup', {
        method: 'POST',
        headers: { [BINDING_SIGNUP_HEADER]: 'new-user' },
      });
      expect(signup.status).toBe(200);
      expect(await signup.text()).toBe(BINDING_PAGES.welcome);
      await tracker.flush();
      const now = Date.now();
      const report = await store.conversions({ from: dayAt(now - DAY_MS), to: dayAt(now + DAY_MS) });
      expect(report.signups).toBe(1);
      expect(report.conversions[0]).toMatchObject({ userId: 'new-user', pagesBefore: 2 });
      expect(report.conversions[0]?.firstTouch).toMatchObject({
        landingPath: '/',
        referrerHost: 'news.example.com',
      });
      expect(report.byLandingPage).toEqual([{ path: '/', conversions: 1 }]);
    });

    it('leaves every response byte-identical when the tracker throws on every call', async () => {
      const withAnon = await serve({}, throwingTracker(tracker));
      const without = await serve({ anon: false });
      const requests: [string, RequestInit & { headers?: Record<string, string> }][] = [
        ['/', {}],
        ['/', { method: 'HEAD' }],
        ['/posts/5', { headers: { [BINDING_USER_HEADER]: 'user-5' } }],
        ['/blog/first', {}],
        ['/article', {}],
        ['/private/page', {}],
        ['/assets/app.js', { headers: { accept: '*/*' } }],
        ['/form', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }],
        ['/missing', {}],
        ['/stream', {}],
        ['/signup', { method: 'POST', headers: { [BINDING_SIGNUP_HEADER]: 'user-9' } }],
      ];
      for (const [path, init] of requests) {
        const [a, b] = await Promise.all([send(withAnon, path, init), send(without, path, init)]);
        const label = `${init.method ?? 'GET'} ${path}`;
        expect(a.status, label).toBe(b.status);
        expect(headersOf(a), label).toEqual(headersOf(b));
        expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer())), label).toBe(
          true,
        );
      }
      const beacon = await send(withAnon, '/_anon/e', { method: 'POST', body: '{"t":"e","v":"x"}' });
      expect(beacon.status).toBeLessThan(500);
      await beacon.arrayBuffer();
    });

    it('tracks a streamed response once, after it ends', async () => {
      const base = await serve();
      const res = await send(base, '/stream');
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value, { stream: true });
      // The rest is still BINDING_STREAM_GAP_MS away: a binding that tracked on headers would show here.
      expect(tracker.stats().tracked).toBe(0);
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += decoder.decode(chunk.value, { stream: true });
      }
      expect(text).toBe(BINDING_STREAM_CHUNKS.join(''));
      await vi.waitFor(() => expect(tracker.stats().tracked).toBe(1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await topPage('/stream'))?.views).toBe(1);
      expect(tracker.stats().tracked).toBe(1);
    });

    it('ignores a forged X-Forwarded-For unless the app trusts proxies', async () => {
      const untrusted = await serve();
      await get(untrusted, '/posts/1', { 'x-forwarded-for': '203.0.113.7' });
      await get(untrusted, '/posts/2', { 'x-forwarded-for': '198.51.100.9' });
      const first = (await stored()).pageViews;
      expect(first.map((v) => v.ip)).not.toContain('203.0.113.7');
      expect(first.every((v) => /127\.0\.0\.1|::1$/.test(v.ip ?? ''))).toBe(true);
      // Same socket, same browser: one visitor, whatever the header claims.
      expect(new Set(first.map((v) => v.visitorKey)).size).toBe(1);

      const trusted = await serve({ trustProxy: true });
      await get(trusted, '/posts/3', { 'x-forwarded-for': '203.0.113.7' });
      await get(trusted, '/posts/4', { 'x-forwarded-for': '198.51.100.9' });
      const second = (await stored()).pageViews.filter((v) => v.url === '/posts/3' || v.url === '/posts/4');
      expect(second.map((v) => v.ip).sort()).toEqual(['198.51.100.9', '203.0.113.7']);
      expect(new Set(second.map((v) => v.visitorKey)).size).toBe(2);
    });

    it('serves the beacon: 413 past 2 KB, 400 for a bad shape, 204 otherwise, never tracked as a view', async () => {
      const base = await serve();
      const page = await send(base, '/article');
      const viewId = /data-view="([^"]*)"/.exec(await page.text())?.[1] ?? '';
      expect(viewId).not.toBe('');

      const post = async (body: BodyInit, headers: Record<string, string> = {}) => {
        // `duplex` (needed for a stream body) is missing from the DOM lib's RequestInit.
        const init = { method: 'POST', body, headers, duplex: 'half' } as RequestInit & {
          headers: Record<string, string>;
        };
        const res = await send(base, '/_anon/e', init);
        await res.arrayBuffer();
        return res.status;
      };
      const engagement = JSON.stringify({ t: 'e', v: viewId, ms: 4000, sd: 80, ix: 3 });
      expect(await post(engagement + ' '.repeat(3000))).toBe(413);
      // No Content-Length: the limit must hold on the bytes actually read.
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(1000)));
          controller.close();
        },
      });
      expect(await post(chunked)).toBe(413);
      expect(await post('not json')).toBe(400);
      expect(await post('{"t":"x"}', { 'content-type': 'application/json' })).toBe(400);
      expect(await post(engagement.padEnd(2048, ' '), { 'content-type': 'text/plain;charset=UTF-8' })).toBe(
        204,
      );
      // The app's JSON body parser must not get there first.
      expect(await post(engagement, { 'content-type': 'application/json' })).toBe(204);

      const { pageViews, metrics } = await stored();
      expect(pageViews.map((v) => v.id)).toEqual([viewId]);
      expect(metrics.find((m) => m.viewId === viewId && m.metric === 'scroll_depth')?.value).toBe(80);
      expect(tracker.stats().tracked).toBe(1);
    });

    it('serves the beacon on a configured path, and only there; a navigation is answered with its view id', async () => {
      const base = await serve({ beaconPath: '/collect' });
      // A navigation names the view it leaves, which must be the visitor's latest: the page's own.
      const page = await send(base, '/article');
      const from = /data-view="([^"]*)"/.exec(await page.text())?.[1] ?? '';
      expect(from).not.toBe('');
      const nav = await send(base, '/collect', {
        method: 'POST',
        body: JSON.stringify({ t: 'p', v: from, u: '/spa/page' }),
      });
      expect(nav.status).toBe(200);
      expect(nav.headers.get('content-type')).toMatch(/^application\/json/);
      const answer = (await nav.json()) as { v?: unknown };
      const old = await send(base, '/_anon/e', {
        method: 'POST',
        body: JSON.stringify({ t: 'p', v: from, u: '/spa/other' }),
      });
      expect(old.status).toBe(404);
      await old.arrayBuffer();
      const { pageViews } = await stored();
      expect(pageViews.map((v) => v.url).sort()).toEqual(['/article', '/spa/page']);
      expect(pageViews.find((v) => v.url === '/spa/page')?.id).toBe(answer.v);
    });

    it('counts an SPA navigation under the route pattern a page load of its path gets, mounted prefixes included', async () => {
      const base = await serve();
      const page = await send(base, '/posts/new');
      expect(await page.text()).toBe(BINDING_PAGES.newPost);
      const urls = ['/posts/42', '/posts/new', '/blog/hello-world', '/nowhere/7', '/posts/43?utm_source=x'];
      const ids = await navigate(base, await articleView(base), urls);
      const { pageViews } = await stored();
      const pathOf = (id: string | undefined) => pageViews.find((v) => v.id === id)?.path;
      expect(ids.map(pathOf)).toEqual([
        '/posts/:id',
        '/posts/new',
        '/blog/:slug',
        '/nowhere/7',
        '/posts/:id',
      ]);
      // The page load of the same path agrees: a static route wins over a parameter route both ways.
      expect(pageViews.filter((v) => v.url === '/posts/new').map((v) => v.path)).toEqual([
        '/posts/new',
        '/posts/new',
      ]);
      expect((await topPage('/posts/:id'))?.views).toBe(2);
    });

    it('counts an SPA navigation under its path with matchRoutes: false', async () => {
      const base = await serve({ matchRoutes: false });
      const ids = await navigate(base, await articleView(base), ['/posts/42', '/blog/hello-world']);
      const { pageViews } = await stored();
      expect(ids.map((id) => pageViews.find((v) => v.id === id)?.path)).toEqual([
        '/posts/42',
        '/blog/hello-world',
      ]);
    });

    it('serves the page script with an ETag and a long cache, answers 304 to a revalidation, never counts it', async () => {
      const base = await serve();
      const script = await send(base, '/_anon/script.js?v=1');
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect(script.headers.get('cache-control')).toMatch(/max-age=31536000/);
      const etag = script.headers.get('etag') ?? '';
      expect(etag).not.toBe('');
      expect((await script.text()).length).toBeGreaterThan(100);
      const again = await send(base, '/_anon/script.js', { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      await again.arrayBuffer();
      const moved = await serve({ scriptPath: false });
      const none = await send(moved, '/_anon/script.js');
      expect(none.status).not.toBe(200);
      await none.arrayBuffer();
      expect((await stored()).pageViews).toEqual([]);
    });
  });
}

/** Every response header but `Date`, sorted by name. */
function headersOf(res: Response): [string, string][] {
  const headers: [string, string][] = [];
  res.headers.forEach((value, name) => {
    if (name !== 'date') headers.push([name, value]);
  });
  return headers.sort(([a], [b]) => (a < b ? -1 : 1));
}
