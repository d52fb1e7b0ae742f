/**
 * One hello-world server under load, in its own process: `node --import tsx bench/server.ts <framework>
 * <variant> [redisPrefix]`. It tells its port to the parent over IPC, and on `stop` answers with the
 * tracker's stats (proof that the middleware tracked what it was sent) and exits.
 */
import type { AddressInfo } from 'node:net';
import { createTracker, type HotStore, type Tracker, type TrackerStats } from '@anon/core';
import { memoryHotStore, memoryQueue } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import { connectRedis } from './services.js';
import { FRAMEWORKS, type Framework, type ServerMessage, VARIANTS, type Variant } from './variants.js';

const HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>hello</title></head><body><p>hello world</p></body></html>';

interface Running {
  port: number;
  close(): Promise<void>;
}

async function startExpress(tracker: Tracker | null): Promise<Running> {
  const { default: express } = await import('express');
  const { anonExpress } = await import('@anon/express');
  const app = express();
  if (tracker !== null) app.use(anonExpress(tracker));
  app.get('/', (_req, res) => {
    res.type('html').send(HTML);
  });
  return listen((onReady) => app.listen(0, '127.0.0.1', onReady));
}

async function startKoa(tracker: Tracker | null): Promise<Running> {
  const { default: Koa } = await import('koa');
  const { anonKoa } = await import('@anon/koa');
  const app = new Koa();
  if (tracker !== null) app.use(anonKoa(tracker));
  app.use((ctx) => {
    ctx.type = 'html';
    ctx.body = HTML;
  });
  return listen((onReady) => app.listen(0, '127.0.0.1', onReady));
}

async function startFastify(tracker: Tracker | null): Promise<Running> {
  const { default: Fastify } = await import('fastify');
  const { anonFastify } = await import('@anon/fastify');
  const app = Fastify({ logger: false });
  if (tracker !== null) await app.register(anonFastify(tracker));
  app.get('/', (_request, reply) => {
    reply.type('text/html; charset=utf-8').send(HTML);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { port, close: () => app.close() };
}

async function startHono(tracker: Tracker | null): Promise<Running> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { anonHono } = await import('@anon/hono');
  const app = new Hono();
  if (tracker !== null) app.use(anonHono(tracker));
  app.get('/', (c) => c.html(HTML));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
      resolve({
        port: info.port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Wraps a Node `http.Server` that `start` creates and starts listening. */
function listen(start: (onReady: () => void) => import('node:http').Server): Promise<Running> {
  return new Promise((resolve) => {
    const server = start(() => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

const STARTERS: Record<Framework, (tracker: Tracker | null) => Promise<Running>> = {
  express: startExpress,
  koa: startKoa,
  fastify: startFastify,
  hono: startHono,
};

async function main(): Promise<void> {
  const [framework, variant, prefix] = process.argv.slice(2) as [Framework, Variant, string | undefined];
  if (!FRAMEWORKS.includes(framework) || !VARIANTS.includes(variant)) {
    throw new Error(
      `[anon] [bench] usage: server.ts <${FRAMEWORKS.join('|')}> <${VARIANTS.join('|')}> [prefix]`,
    );
  }
  let tracker: Tracker | null = null;
  let closeRedis = (): void => undefined;
  if (variant !== 'bare') {
    let hot: HotStore = memoryHotStore();
    if (variant === 'redis') {
      const redis = await connectRedis();
      if (!redis.ok) throw new Error(redis.reason);
      hot = redisHotStore(redis.value, { prefix: prefix ?? 'anonbench:' });
      closeRedis = () => redis.value.disconnect();
    }
    tracker = createTracker({
      hot,
      // No store in this process: the request path is what is measured; workers run elsewhere.
      queue: memoryQueue(),
      // All load comes from one IP and a few hundred user agents: without this every visitor passes the
      // per-minute rate within a second and each later view is a bot, which skips the real-time sets and
      // would make the middleware look cheaper than it is with real visitors.
      botMaxViewsPerMinute: Number.MAX_SAFE_INTEGER,
    });
  }
  const running = await STARTERS[framework](tracker);
  const send = (message: ServerMessage) => process.send?.(message);
  process.on('message', async (message: unknown) => {
    if (message !== 'stop') return;
    await running.close();
    let stats: TrackerStats | null = null;
    if (tracker !== null) {
      await tracker.flush();
      stats = tracker.stats();
      await tracker.close();
    }
    closeRedis();
    send({ type: 'stopped', stats });
    process.disconnect?.();
    process.exit(0);
  });
  send({ type: 'ready', port: running.port });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'failed', error: String((error as Error)?.stack ?? error) } satisfies ServerMessage);
  process.exit(1);
});
