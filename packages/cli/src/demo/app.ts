import type { Tracker } from '@anon/core';
import { type AnonEnv, anonHono } from '@anon/hono';
import { Hono } from 'hono';

const page = (title: string, viewId: string | null, body = '') =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>` +
  `<meta name="anon-view" content="${viewId ?? ''}"></head><body><h1>${title}</h1>${body}</body></html>`;

/**
 * The demo site: a small community blog. The demo driver plays a reverse proxy, so the app reads the client IP
 * from X-Forwarded-For — do that in your app only behind a proxy you run.
 */
export function demoApp(tracker: Tracker): Hono<AnonEnv> {
  const app = new Hono<AnonEnv>();
  app.use(
    anonHono(tracker, {
      getUserId: (c) => c.req.header('x-demo-user') ?? null,
      getIp: (c) => c.req.header('x-forwarded-for')?.split(',')[0]?.trim() ?? null,
      scope: (c) =>
        c.req.path.startsWith('/communities/') ? `community:${c.req.param('slug') ?? ''}` : null,
      pageType: (c) => (c.req.path.startsWith('/posts/') ? 'post' : null),
    }),
  );
  app.get('/', (c) => c.html(page('Home', c.get('anon').viewId)));
  app.get('/about', (c) => c.html(page('About', c.get('anon').viewId)));
  app.get('/pricing', (c) => c.html(page('Pricing', c.get('anon').viewId)));
  app.get('/posts/:id', (c) => c.html(page(`Post ${c.req.param('id')}`, c.get('anon').viewId)));
  app.get('/communities/:slug', (c) =>
    c.html(page(`Community ${c.req.param('slug')}`, c.get('anon').viewId)),
  );
  app.get('/signup', (c) => c.html(page('Sign up', c.get('anon').viewId, '<form method="post"></form>')));
  app.post('/signup', async (c) => {
    const { user } = await c.req.json<{ user: string }>();
    await c.get('anon').identify(user, 'signup');
    return c.redirect('/dashboard', 303);
  });
  app.get('/dashboard', (c) => {
    const user = c.req.header('x-demo-user');
    if (!user) return c.redirect('/signup');
    return c.html(page(`Dashboard of ${user}`, c.get('anon').viewId));
  });
  app.get('/assets/app.js', (c) => c.body('console.log("demo")', 200, { 'content-type': 'text/javascript' }));
  return app;
}
