import { createTracker, dayOf, type Tracker } from '@anon/core';
import { anonFastify } from '@anon/fastify';
import { type PostgresStore, postgresStore } from '@anon/postgres';
import { redisHotStore, redisStreamQueue } from '@anon/redis';
import Fastify from 'fastify';
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
import { type Settings, TRACKER_OPTIONS } from './config.js';
import { connectRedis, postgresPool } from './connections.js';

/** The running app instance. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  /** Read-only use here: the reports of the stats page. The worker writes. */
  store: PostgresStore;
  /** Stops the server, hands what is buffered to Redis, and closes the connections. */
  close(): Promise<void>;
}

/**
 * One app instance: Fastify, with the hot store in Redis (shared by every instance, so a visitor's session
 * continues whichever instance answers) and a Redis Streams queue. No store write and no sweeper here: a
 * separate worker process (`run-worker.ts`, or `anon worker`) does both.
 */
export async function startServer(settings: Settings, port = 3000): Promise<RunningServer> {
  const redis = await connectRedis(settings, 'app');
  const pool = postgresPool(settings);
  // Only for reading reports; it migrates on first use, so an instance may start before the worker.
  const store = postgresStore(pool, { schema: settings.schema });
  const tracker = createTracker({
    ...TRACKER_OPTIONS,
    hot: redisHotStore(redis, { prefix: settings.redisPrefix }),
    queue: redisStreamQueue(redis, { stream: settings.stream }),
    // No `store`: no worker in this process. No sweeper either: the worker's finalizes idle sessions.
    sweeper: false,
  });

  const app = Fastify();
  // On the root instance: the plugin's hooks then cover every route.
  await app.register(anonFastify(tracker, { getUserId: (request) => demoUser(request.headers.cookie) }));
  // Browsers post forms as urlencoded; the demo sign-up has no fields, so the body is taken as is.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  const user = (cookie: string | undefined) => demoUser(cookie);
  app.get('/', async (request, reply) =>
    reply.type('text/html').send(homePage(request.anon.viewId, user(request.headers.cookie))),
  );
  app.get<{ Params: { id: string } }>('/posts/:id', async (request, reply) => {
    const page = postPage(request.params.id, request.anon.viewId, user(request.headers.cookie));
    return page === null
      ? reply.code(404).type('text/plain').send('no such post')
      : reply.type('text/html').send(page);
  });
  app.get('/signup', async (request, reply) =>
    reply.type('text/html').send(signupPage(request.anon.viewId, user(request.headers.cookie))),
  );
  app.post('/signup', async (request, reply) => {
    const userId = newUserId();
    // Links this visitor's anonymous sessions to the new account; the worker writes the conversion.
    await request.anon.identify(userId, 'signup');
    return reply
      .header('set-cookie', `${USER_COOKIE}=${userId}; Path=/; HttpOnly; SameSite=Lax`)
      .redirect('/welcome', 303);
  });
  app.get('/welcome', async (request, reply) =>
    reply.type('text/html').send(welcomePage(request.anon.viewId, user(request.headers.cookie))),
  );
  app.get('/stats', async (_request, reply) => {
    const day = dayOf(Date.now(), tracker.config.timeZone);
    const q = { from: day, to: day, limit: 20 };
    const [top, sessions, conversions, active] = await Promise.all([
      store.topPages(q),
      store.sessions(q),
      store.conversions(q),
      tracker.activeVisitors(),
    ]);
    return reply
      .type('text/html')
      .send(statsPage({ day, top, sessions, signups: conversions.signups, active }));
  });

  try {
    await app.listen({ port, host: '0.0.0.0' });
  } catch (error) {
    await tracker.close();
    await pool.end();
    redis.disconnect();
    throw error;
  }
  const address = app.server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;

  return {
    url: `http://127.0.0.1:${actual}`,
    tracker,
    store,
    async close() {
      await app.close();
      await tracker.close();
      await store.close();
      await pool.end();
      await redis.quit();
    },
  };
}
