import type { AddressInfo } from 'node:net';
import { SCRIPT_PATH, scriptResponse, scriptTag } from '@anon/browser';
import { createTracker, type Tracker, type TrackerOptions } from '@anon/core';
import { type MemoryStore, memoryStore } from '@anon/core/memory';
import { type AnonEnv, anonHono } from '@anon/hono';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** Where the example listens and how its tracker is made. */
export interface StartOptions {
  /** Port to listen on; 0 picks a free one. @default 3000 */
  port?: number;
  /** Tracker options on top of the example's (a memory store, the memory hot store). @default none */
  tracker?: Omit<TrackerOptions, 'store'>;
}

/** The running example. */
export interface RunningExample {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  store: MemoryStore;
  /** Stops the server and writes what is still queued. */
  close(): Promise<void>;
}

/** Escapes text for HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PARAGRAPH = '<p>Some text to scroll through, long enough that the page is several screens tall.</p>';

/**
 * The client-side router: links marked `data-spa` change the page with `history.pushState` and render it in
 * place, as a single-page app does. The anon page script sees the pushState and reports a navigation.
 */
const ROUTER = `<script>
function render() {
  const path = location.pathname;
  const post = /^\\/posts\\/([0-9]+)$/.exec(path);
  document.title = post ? 'Post ' + post[1] : 'Home';
  document.querySelector('h1').textContent = document.title;
}
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-spa]');
  if (!link) return;
  event.preventDefault();
  history.pushState(null, '', link.getAttribute('href'));
  render();
  scrollTo(0, 0);
});
addEventListener('popstate', render);
</script>`;

function page(title: string, viewId: string | null): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>${scriptTag({ viewId })}</head>
<body>
<nav><a href="/" data-spa>Home</a> · <a href="/posts/42" data-spa id="post-42">Post 42</a> ·
<a href="/posts/7" data-spa>Post 7</a> · <a href="/about">About (a full page load)</a></nav>
<h1>${escapeHtml(title)}</h1>
<button id="like" type="button">Like</button>
<main>${PARAGRAPH.repeat(150)}</main>
${ROUTER}
</body>
</html>`;
}

/**
 * A small single-page app on Hono and Node with everything in memory: the page script served from
 * `@anon/browser` at `/_anon/script.js` (ETag, a year of max-age), pages rendered with `scriptTag`, and
 * client-side navigations between them.
 */
export async function start(options: StartOptions = {}): Promise<RunningExample> {
  const store = memoryStore();
  const tracker = createTracker({ ...options.tracker, store });

  const app = new Hono<AnonEnv>();
  // Served before the middleware sees it: `/_anon/*` is excluded from tracking anyway.
  app.get(SCRIPT_PATH, (c) => {
    const { status, headers, body } = scriptResponse(c.req.header('if-none-match'));
    return new Response(body, { status, headers });
  });
  app.use(anonHono(tracker));
  app.get('/', (c) => c.html(page('Home', c.get('anon').viewId)));
  app.get('/posts/:id{[0-9]+}', (c) => c.html(page(`Post ${c.req.param('id')}`, c.get('anon').viewId)));
  app.get('/about', (c) => c.html(page('About', c.get('anon').viewId)));

  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const server = serve({ fetch: app.fetch, port: options.port ?? 3000 }, (info: AddressInfo) =>
        resolve({ server, port: info.port }),
      );
    },
  );

  return {
    url: `http://127.0.0.1:${port}`,
    tracker,
    store,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      await tracker.close();
    },
  };
}
