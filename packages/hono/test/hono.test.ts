import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTracker, type Tracker } from '@anon/core';
import { memoryStore } from '@anon/core/memory';
import {
  BINDING_PAGES,
  BINDING_SIGNUP_HEADER,
  BINDING_USER_HEADER,
  type BindingAppOptions,
  bindingContract,
  type RunningApp,
  streamedPage,
} from '@anon/testing';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { describe, expect, it } from 'vitest';
import { type AnonEnv, anonHono } from '../src/index.js';

const EDGE_BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** Hono has no trust-proxy setting: an app behind a proxy reads the header its proxy sets, and only then. */
const clientIp = (trustProxy: boolean) => (c: Context) =>
  (trustProxy ? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() : undefined) ??
  getConnInfo(c).remote.address;

async function start(tracker: Tracker, options: BindingAppOptions): Promise<RunningApp> {
  const app = new Hono<AnonEnv>();
  if (options.anon) {
    app.use(
      anonHono(tracker, {
        app,
        getUserId: (c) => c.req.header(BINDING_USER_HEADER) ?? null,
        getIp: clientIp(options.trustProxy),
        ...(options.beaconPath ? { beaconPath: options.beaconPath } : {}),
        ...(options.scriptPath !== undefined ? { scriptPath: options.scriptPath } : {}),
        ...(options.matchRoutes !== undefined ? { matchRoutes: options.matchRoutes } : {}),
      }),
    );
  }
  // Hono parses bodies on demand; this stands in for a body-parsing middleware consuming every POST after anon.
  app.use(async (c, next) => {
    if (c.req.method === 'POST') await c.req.text();
    await next();
  });

  app.get('/', (c) => c.html(BINDING_PAGES.home));
  // Before /posts/:id, which would answer /posts/new too: Hono runs the first handler registered.
  app.get('/posts/new', (c) => c.html(BINDING_PAGES.newPost));
  app.get('/posts/:id', (c) => c.html(BINDING_PAGES.post(c.req.param('id'))));
  const blog = new Hono<AnonEnv>();
  blog.get('/:slug', (c) => c.html(BINDING_PAGES.blog(c.req.param('slug'))));
  app.route('/blog', blog);
  app.get('/article', (c) => c.html(BINDING_PAGES.article(c.get('anon')?.viewId)));
  app.get('/private/page', (c) => c.html(BINDING_PAGES.home));
  app.get('/assets/app.js', (c) =>
    c.body(BINDING_PAGES.script, 200, { 'content-type': 'application/javascript; charset=utf-8' }),
  );
  app.post('/form', (c) => c.html(BINDING_PAGES.thanks));
  app.get('/stream', (c) => {
    c.header('content-type', 'text/html; charset=utf-8');
    return stream(c, async (s) => {
      for await (const chunk of streamedPage()) await s.write(chunk);
    });
  });
  app.post('/signup', async (c) => {
    await c.get('anon')?.identify(c.req.header(BINDING_SIGNUP_HEADER) ?? '', 'signup');
    return c.html(BINDING_PAGES.welcome);
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

bindingContract('@anon/hono', start);

describe('@anon/hono without @hono/node-server (edge runtimes)', () => {
  it('tracks once the handler has answered and keeps the recording alive through waitUntil', async () => {
    const store = memoryStore();
    const tracker = createTracker({ store, sweeper: false, ipMode: 'full' });
    const app = new Hono<AnonEnv>();
    app.use(anonHono(tracker, { getIp: (c) => c.req.header('cf-connecting-ip') }));
    app.get('/posts/:id', (c) => c.html(BINDING_PAGES.post(c.req.param('id'))));

    const pending: Promise<unknown>[] = [];
    const executionCtx = {
      waitUntil: (p: Promise<unknown>) => pending.push(p),
      passThroughOnException() {},
      props: {},
    };
    const res = await app.fetch(
      new Request('https://example.com/posts/7', {
        headers: { 'user-agent': EDGE_BROWSER, accept: 'text/html', 'cf-connecting-ip': '192.0.2.44' },
      }),
      {},
      executionCtx,
    );
    expect(await res.text()).toBe(BINDING_PAGES.post('7'));
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    const [view] = store.dump().pageViews;
    expect(view).toMatchObject({ path: '/posts/:id', url: '/posts/7', ip: '192.0.2.44' });
    await tracker.close();
  });
});

describe('@anon/hono portability', () => {
  it('imports nothing Node-only, so it runs on Bun, Deno and edge runtimes', () => {
    const dir = fileURLToPath(new URL('../src/', import.meta.url));
    const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const source = readFileSync(join(dir, name), 'utf8');
      expect(source, name).not.toMatch(/from '(node:|@hono\/node-server)|\bBuffer\b|\bprocess\.|require\(/);
    }
  });
});
