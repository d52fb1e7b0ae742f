import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracker, DEFAULT_CONFIG, dayOf, type Tracker } from '@anon/core';
import { anonKoa } from '@anon/koa';
import { type MongoStore, mongoStore } from '@anon/mongo';
import Router from '@koa/router';
import Koa from 'koa';
import { MongoClient } from 'mongodb';
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

/** Where the example connects and listens. */
export interface StartOptions {
  /** Port to listen on; 0 picks a free one. @default 3000 */
  port?: number;
  /** A MongoDB connection string; its database (the path part) holds anon's collections. */
  mongoUrl: string;
  /** Prefix of anon's collection names. @default 'anon_' */
  collectionPrefix?: string;
}

/** The running example. */
export interface RunningExample {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  store: MongoStore;
  /** The example's own client (for tests that look at the database). */
  client: MongoClient;
  /** Stops the server, writes what is still queued, and closes the MongoDB client. */
  close(): Promise<void>;
}

/**
 * Koa + `@koa/router` + MongoDB: the memory hot store (the tracker's default) keeps live sessions, and the
 * worker in this process writes page views, sessions and conversions to MongoDB.
 */
export async function start(options: StartOptions): Promise<RunningExample> {
  const client = new MongoClient(options.mongoUrl, { serverSelectionTimeoutMS: 5_000 });
  let store: MongoStore;
  try {
    await client.connect();
    // `client.db()` is the database named in the connection string.
    store = mongoStore(client.db(), { prefix: options.collectionPrefix ?? 'anon_' });
    await store.ensureIndexes();
  } catch (error) {
    await client.close();
    throw error;
  }
  const tracker = createTracker({ store, excludePaths: [...DEFAULT_CONFIG.excludePaths, '/stats'] });

  const app = new Koa();
  // First, before any body parser: the binding reads the beacon body itself.
  // Route patterns (`/posts/:id`) come from @koa/router; passed to the binding, SPA navigations get them too.
  const router = new Router();
  app.use(anonKoa(tracker, { router, getUserId: (ctx) => demoUser(ctx.get('cookie')) }));
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage(ctx.state.anon.viewId, demoUser(ctx.get('cookie')));
  });
  router.get('/posts/:id', (ctx) => {
    const page = postPage(ctx.params.id ?? '', ctx.state.anon.viewId, demoUser(ctx.get('cookie')));
    if (page === null) {
      ctx.status = 404;
      ctx.body = 'no such post';
      return;
    }
    ctx.type = 'html';
    ctx.body = page;
  });
  router.get('/signup', (ctx) => {
    ctx.type = 'html';
    ctx.body = signupPage(ctx.state.anon.viewId, demoUser(ctx.get('cookie')));
  });
  router.post('/signup', async (ctx) => {
    const userId = newUserId();
    // Links this visitor's anonymous sessions to the new account: the conversion shows in the reports.
    await ctx.state.anon.identify(userId, 'signup');
    ctx.cookies.set(USER_COOKIE, userId, { httpOnly: true, sameSite: 'lax' });
    ctx.status = 303;
    ctx.redirect('/welcome');
  });
  router.get('/welcome', (ctx) => {
    ctx.type = 'html';
    ctx.body = welcomePage(ctx.state.anon.viewId, demoUser(ctx.get('cookie')));
  });
  router.get('/stats', async (ctx) => {
    const day = dayOf(Date.now(), tracker.config.timeZone);
    const q = { from: day, to: day, limit: 20 };
    const [top, sessions, conversions, active] = await Promise.all([
      store.topPages(q),
      store.sessions(q),
      store.conversions(q),
      tracker.activeVisitors(),
    ]);
    ctx.type = 'html';
    ctx.body = statsPage({ day, top, sessions, signups: conversions.signups, active });
  });
  app.use(router.routes()).use(router.allowedMethods());

  const server = createServer(app.callback());
  server.listen(options.port ?? 3000);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    tracker,
    store,
    client,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await tracker.close();
      await client.close();
    },
  };
}
