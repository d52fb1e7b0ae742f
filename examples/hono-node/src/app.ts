import type { AddressInfo } from 'node:net';
import { createTracker, DEFAULT_CONFIG, dayOf, type Tracker } from '@anon/core';
import { type AnonEnv, anonHono } from '@anon/hono';
import { type PostgresStore, postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import {
  demoUser,
  homePage,
  newUserId,
  postPage,
  signupPage,
  statsPage,
  USER_COOKIE,
  welcomePage,
} from '../../site.js';

/** Where the example keeps its data and listens. */
export interface StartOptions {
  /** Port to listen on; 0 picks a free one. @default 3000 */
  port?: number;
  /** Directory of the embedded PGlite database; in memory when unset. @default in memory */
  pgliteDir?: string;
}

/** The running example. */
export interface RunningExample {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  store: PostgresStore;
  /** Stops the server, writes what is still queued, and closes the database. */
  close(): Promise<void>;
}

/**
 * Hono on Node with nothing to install: the memory hot store (the tracker's default) and PGlite, PostgreSQL
 * compiled to WebAssembly, in this process. The same schema and reports as a PostgreSQL server.
 */
export async function start(options: StartOptions = {}): Promise<RunningExample> {
  const db = new PGlite(options.pgliteDir);
  const store = postgresStore(db);
  try {
    await store.migrate();
  } catch (error) {
    await db.close();
    throw error;
  }
  // No hot store and no queue given: both in memory, with the worker and the sweeper in this process.
  const tracker = createTracker({ store, excludePaths: [...DEFAULT_CONFIG.excludePaths, '/stats'] });

  const app = new Hono<AnonEnv>();
  // `app`: SPA navigations are counted under this app's route patterns (`/posts/:id`).
  app.use(anonHono(tracker, { app, getUserId: (c) => demoUser(c.req.header('cookie')) }));
  const user = (cookie: string | undefined) => demoUser(cookie);
  app.get('/', (c) => c.html(homePage(c.get('anon').viewId, user(c.req.header('cookie')))));
  app.get('/posts/:id', (c) => {
    const page = postPage(c.req.param('id'), c.get('anon').viewId, user(c.req.header('cookie')));
    return page === null ? c.text('no such post', 404) : c.html(page);
  });
  app.get('/signup', (c) => c.html(signupPage(c.get('anon').viewId, user(c.req.header('cookie')))));
  app.post('/signup', async (c) => {
    const userId = newUserId();
    // Links this visitor's anonymous sessions to the new account: the conversion shows in the reports.
    await c.get('anon').identify(userId, 'signup');
    setCookie(c, USER_COOKIE, userId, { httpOnly: true, sameSite: 'Lax', path: '/' });
    return c.redirect('/welcome', 303);
  });
  app.get('/welcome', (c) => c.html(welcomePage(c.get('anon').viewId, user(c.req.header('cookie')))));
  app.get('/stats', async (c) => {
    const day = dayOf(Date.now(), tracker.config.timeZone);
    const q = { from: day, to: day, limit: 20 };
    const [top, sessions, conversions, active] = await Promise.all([
      store.topPages(q),
      store.sessions(q),
      store.conversions(q),
      tracker.activeVisitors(),
    ]);
    return c.html(statsPage({ day, top, sessions, signups: conversions.signups, active }));
  });

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
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
      await tracker.close();
      await store.close();
      await db.close();
    },
  };
}
