/**
 * One hello-world server under load, in its own process: `node --import tsx bench/server.ts <framework>
 * <variant> [redisPrefix]`. It tells its port to the parent over IPC, answers `counters` (CPU, views and Redis
 * commands so far, once the background work settled) and `probe` (timing of each synchronous `track()` call),
 * and on `stop` answers with the tracker's stats (proof that the middleware tracked what it was sent) and exits.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { createTracker, type HotStore, type Tracker, type TrackerStats } from '@anon/core';
import { memoryHotStore, memoryQueue } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { type BatchForm, withBatchForm } from './batch-form.js';
import { asTrackerStore, type NullStore, nullStore } from './null-store.js';
import { countCommands } from './redis-commands.js';
import { connectRedis } from './services.js';
import { percentile, Samples } from './stats.js';
import {
  type Counters,
  FRAMEWORKS,
  type Framework,
  type ProbeTiming,
  type ServerMessage,
  type ServerRequest,
  VARIANTS,
  type Variant,
} from './variants.js';

const HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>hello</title></head><body><p>hello world</p></body></html>';

interface Running {
  port: number;
  close(): Promise<void>;
}

/** What the floor middleware keeps of a request: the capture a request logger makes, nothing more. */
interface Captured {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  ip: string | null | undefined;
  status: number;
  time: number;
}

/**
 * The floor: captures every finished request onto an array that a 10 ms timer drains (counts and drops), the
 * same shape of work anon's request path does at best. What anon costs beyond it is anon's own cost.
 */
class Floor {
  captured: Captured[] = [];
  drained = 0;
  readonly #timer = setInterval(() => {
    const batch = this.captured;
    this.captured = [];
    this.drained += batch.length;
  }, 10);
  push(c: Captured): void {
    this.captured.push(c);
  }
  views(): number {
    return this.drained + this.captured.length;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

type Middleware = { kind: 'none' } | { kind: 'floor'; floor: Floor } | { kind: 'anon'; tracker: Tracker };

async function startExpress(mw: Middleware): Promise<Running> {
  const { default: express } = await import('express');
  const { anonExpress } = await import('@anon/express');
  const app = express();
  if (mw.kind === 'anon') app.use(anonExpress(mw.tracker));
  if (mw.kind === 'floor') {
    const { floor } = mw;
    app.use((req, res, next) => {
      // The plumbing anonExpress needs too: a 'finish' listener, since the status is known only then.
      res.once('finish', () =>
        floor.push({
          method: req.method,
          url: req.originalUrl,
          headers: req.headers,
          ip: req.ip,
          status: res.statusCode,
          time: Date.now(),
        }),
      );
      next();
    });
  }
  app.get('/', (_req, res) => {
    res.type('html').send(HTML);
  });
  return listen((onReady) => app.listen(0, '127.0.0.1', onReady));
}

async function startKoa(mw: Middleware): Promise<Running> {
  const { default: Koa } = await import('koa');
  const { anonKoa } = await import('@anon/koa');
  const app = new Koa();
  if (mw.kind === 'anon') app.use(anonKoa(mw.tracker));
  if (mw.kind === 'floor') {
    const { floor } = mw;
    app.use(async (ctx, next) => {
      ctx.res.once('finish', () =>
        floor.push({
          method: ctx.method,
          url: ctx.originalUrl,
          headers: ctx.headers,
          ip: ctx.ip,
          status: ctx.status,
          time: Date.now(),
        }),
      );
      await next();
    });
  }
  app.use((ctx) => {
    ctx.type = 'html';
    ctx.body = HTML;
  });
  return listen((onReady) => app.listen(0, '127.0.0.1', onReady));
}

async function startFastify(mw: Middleware): Promise<Running> {
  const { default: Fastify } = await import('fastify');
  const { anonFastify } = await import('@anon/fastify');
  const app = Fastify({ logger: false });
  if (mw.kind === 'anon') await app.register(anonFastify(mw.tracker));
  if (mw.kind === 'floor') {
    const { floor } = mw;
    app.addHook('onResponse', async (request, reply) => {
      floor.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        ip: request.ip,
        status: reply.statusCode,
        time: Date.now(),
      });
    });
  }
  app.get('/', (_request, reply) => {
    reply.type('text/html; charset=utf-8').send(HTML);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { port, close: () => app.close() };
}

async function startHono(mw: Middleware): Promise<Running> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { anonHono } = await import('@anon/hono');
  type NodeEnv = {
    Bindings: { incoming: import('node:http').IncomingMessage; outgoing: import('node:http').ServerResponse };
  };
  const app = new Hono<NodeEnv>();
  if (mw.kind === 'anon') app.use(anonHono(mw.tracker));
  if (mw.kind === 'floor') {
    const { floor } = mw;
    app.use(async (c, next) => {
      await next();
      // Node's own request, as anonHono reads it on @hono/node-server (no Fetch Request built per view).
      const { incoming, outgoing } = c.env;
      outgoing.once('finish', () =>
        floor.push({
          method: incoming.method,
          url: incoming.url,
          headers: incoming.headers,
          ip: incoming.socket.remoteAddress,
          status: outgoing.statusCode,
          time: Date.now(),
        }),
      );
    });
  }
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

const STARTERS: Record<Framework, (mw: Middleware) => Promise<Running>> = {
  express: startExpress,
  koa: startKoa,
  fastify: startFastify,
  hono: startHono,
};

/**
 * Times each synchronous `track()` call while on: the tracker handed to the binding is this object, whose
 * `track` is the tracker's own until the probe starts, then a timed wrapper (`performance.now()` around the
 * call, about 0.05 µs of its own), then the tracker's own again.
 */
function probeable(tracker: Tracker): {
  facade: Tracker;
  start(): void;
  stop(): ProbeTiming | null;
} {
  const facade: Tracker = Object.create(tracker) as Tracker;
  const own = tracker.track;
  facade.track = own;
  let samples = new Samples();
  const timed: Tracker['track'] = (req) => {
    const t0 = performance.now();
    const result = own(req);
    samples.push((performance.now() - t0) * 1_000);
    return result;
  };
  return {
    facade,
    start: () => {
      samples = new Samples();
      facade.track = timed;
    },
    stop: () => {
      facade.track = own;
      if (samples.length === 0) return null;
      const sorted = Float64Array.from(samples.values()).sort();
      const sum = sorted.reduce((a, b) => a + b, 0);
      return {
        calls: samples.length,
        meanUs: sum / samples.length,
        p50Us: percentile(sorted, 50),
        p99Us: percentile(sorted, 99),
        maxUs: sorted[sorted.length - 1]!,
      };
    },
  };
}

/**
 * V8's CPU profiler through `node:inspector`, started and stopped on request: the profile covers the load
 * and nothing of the process's start (module loading, TypeScript compilation), unlike `node --cpu-prof`.
 */
function cpuProfiler(): { start(): Promise<void>; stop(file: string): Promise<string> } {
  const session = new Session();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  return {
    async start() {
      session.connect();
      await post('Profiler.enable');
      // 100 µs between samples (V8's default is 1 ms): a hello-world request takes tens of µs.
      await post('Profiler.setSamplingInterval', { interval: 100 });
      await post('Profiler.start');
    },
    async stop(file) {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

async function main(): Promise<void> {
  const [framework, variant, prefix] = process.argv.slice(2) as [Framework, Variant, string | undefined];
  if (!FRAMEWORKS.includes(framework) || !VARIANTS.includes(variant)) {
    throw new Error(
      `[anon] [bench] usage: server.ts <${FRAMEWORKS.join('|')}> <${VARIANTS.join('|')}> [prefix]`,
    );
  }
  let tracker: Tracker | null = null;
  let probe: ReturnType<typeof probeable> | null = null;
  let floor: Floor | null = null;
  let store: NullStore | null = null;
  let redis: Redis | null = null;
  let commands: { total(): number } = { total: () => 0 };
  let batchForm: BatchForm | null = null;
  let mw: Middleware = { kind: 'none' };
  if (variant === 'floor') {
    floor = new Floor();
    mw = { kind: 'floor', floor };
  } else if (variant !== 'bare') {
    let hot: HotStore = memoryHotStore();
    if (variant === 'redis') {
      const reached = await connectRedis();
      if (!reached.ok) throw new Error(reached.reason);
      redis = reached.value;
      commands = countCommands(redis);
      hot = redisHotStore(redis, { prefix: prefix ?? 'anonbench:' });
    }
    const batched = withBatchForm(hot);
    batchForm = batched.form;
    store = nullStore();
    tracker = createTracker({
      hot: batched.hot,
      queue: memoryQueue(),
      // The queue is drained by this process's worker into a store that only counts: a deployment's worker
      // runs somewhere, and its database is not what this figure is about; an undrained queue would be.
      store: asTrackerStore(store),
      // All load comes from one IP and a few hundred user agents: without this every visitor passes the
      // per-minute rate within a second and each later view is a bot, which skips the real-time sets and
      // would make the middleware look cheaper than it is with real visitors.
      botMaxViewsPerMinute: Number.MAX_SAFE_INTEGER,
    });
    probe = probeable(tracker);
    mw = { kind: 'anon', tracker: probe.facade };
  }
  const running = await STARTERS[framework](mw);
  const profiler = cpuProfiler();
  const send = (message: ServerMessage) => process.send?.(message);

  async function counters(): Promise<Counters> {
    // The background work of the requests served so far is theirs: settle it before reading the CPU.
    if (tracker !== null) await tracker.flush();
    const cpu = process.cpuUsage();
    return {
      cpuUs: cpu.user + cpu.system,
      views: tracker?.stats().tracked ?? floor?.views() ?? 0,
      redisCommands: commands.total(),
    };
  }

  process.on('message', async (message: ServerRequest) => {
    if (message.type === 'counters') {
      send({ type: 'counters', counters: await counters() });
      return;
    }
    if (message.type === 'profile') {
      if (message.on) await profiler.start();
      else send({ type: 'profiled', file: await profiler.stop(message.file) });
      return;
    }
    if (message.type === 'probe') {
      if (message.on) probe?.start();
      else send({ type: 'probe', timing: probe?.stop() ?? null });
      return;
    }
    if (message.type !== 'stop') return;
    await running.close();
    let stats: TrackerStats | null = null;
    if (tracker !== null) {
      await tracker.flush();
      stats = tracker.stats();
      await tracker.close();
    }
    floor?.stop();
    redis?.disconnect();
    send({ type: 'stopped', stats, storedEvents: store?.counts().events ?? 0 });
    process.disconnect?.();
    process.exit(0);
  });
  send({ type: 'ready', port: running.port, batchForm });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'failed', error: String((error as Error)?.stack ?? error) } satisfies ServerMessage);
  process.exit(1);
});
