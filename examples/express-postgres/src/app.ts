import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracker, DEFAULT_CONFIG, dayOf, type Tracker } from '@anon/core';
import { anonExpress } from '@anon/express';
import { type PostgresStore, postgresStore } from '@anon/postgres';
import { redisHotStore } from '@anon/redis';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
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
  /** @default 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** @default 'postgres://postgres@127.0.0.1:5432/test' */
  pgUrl?: string;
  /** Postgres schema of anon's tables (created on start). @default 'anon' */
  schema?: string;
  /** Prefix of anon's Redis keys. @default 'anon:' */
  redisPrefix?: string;
}

/** The running example. */
export interface RunningExample {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  store: PostgresStore;
  /** Stops the server, writes what is still queued, and closes every connection. */
  close(): Promise<void>;
}

/**
 * Express + Redis hot store + PostgreSQL store, with the worker in the same process: the tracker's default
 * in-process queue carries page views to the store, so there is nothing else to run.
 */
export async function start(options: StartOptions = {}): Promise<RunningExample> {
  const redis = new Redis(options.redisUrl ?? 'redis://127.0.0.1:6379', {
    // Fail fast while Redis is down: tracking drops views instead of piling up commands.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  redis.on('error', (error) => console.warn(`[example] redis: ${error.message}`));
  const pool = new pg.Pool({ connectionString: options.pgUrl ?? 'postgres://postgres@127.0.0.1:5432/test' });
  pool.on('error', (error) => console.warn(`[example] postgres: ${error.message}`));
  try {
    await redis.connect();
    const store = postgresStore(pool, { schema: options.schema ?? 'anon' });
    await store.migrate();

    // A store and no queue: the default in-process queue, drained by a worker in this process.
    const tracker = createTracker({
      hot: redisHotStore(redis, { prefix: options.redisPrefix ?? 'anon:' }),
      store,
      excludePaths: [...DEFAULT_CONFIG.excludePaths, '/stats'],
    });

    const app = express();
    // First, before any body parser: the binding reads the beacon body itself.
    app.use(anonExpress(tracker, { getUserId: (req) => demoUser(req.headers.cookie) }));
    app.get('/', (req, res) => {
      res.type('html').send(homePage(req.anon.viewId, demoUser(req.headers.cookie)));
    });
    app.get('/posts/:id', (req, res) => {
      const page = postPage(req.params.id, req.anon.viewId, demoUser(req.headers.cookie));
      if (page === null) res.status(404).type('text').send('no such post');
      else res.type('html').send(page);
    });
    app.get('/signup', (req, res) => {
      res.type('html').send(signupPage(req.anon.viewId, demoUser(req.headers.cookie)));
    });
    app.post('/signup', async (req, res) => {
      const userId = newUserId();
      // Links this visitor's anonymous sessions to the new account: the conversion shows in the reports.
      await req.anon.identify(userId, 'signup');
      res.cookie(USER_COOKIE, userId, { httpOnly: true, sameSite: 'lax' }).redirect(303, '/welcome');
    });
    app.get('/welcome', (req, res) => {
      res.type('html').send(welcomePage(req.anon.viewId, demoUser(req.headers.cookie)));
    });
    app.get('/stats', async (_req, res) => {
      const day = dayOf(Date.now(), tracker.config.timeZone);
      const q = { from: day, to: day, limit: 20 };
      const [top, sessions, conversions, active] = await Promise.all([
        store.topPages(q),
        store.sessions(q),
        store.conversions(q),
        tracker.activeVisitors(),
      ]);
      res.type('html').send(statsPage({ day, top, sessions, signups: conversions.signups, active }));
    });

    const server = createServer(app);
    server.listen(options.port ?? 3000);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;

    return {
      url: `http://127.0.0.1:${port}`,
      tracker,
      store,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await tracker.close();
        await store.close();
        await pool.end();
        await redis.quit();
      },
    };
  } catch (error) {
    redis.disconnect();
    await pool.end();
    throw error;
  }
}
