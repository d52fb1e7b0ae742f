/**
 * Section 4: page views from the in-process queue into `postgresStore`, on the local Postgres and on PGlite.
 *
 * The producer (generated traffic, as `track()` enqueues it), the queue, the consumers and the store's client all
 * run in this process; Postgres runs beside it on the same machine. Figures per store: sustained page views per
 * second (a bounded backlog always waiting), the enqueue → commit lag at a steady 70 % of that, and CPU per page
 * view: the worker's (this process's `process.cpuUsage()` minus the producer's own share, timed around each of
 * its synchronous runs) and, for Postgres, the server backends' (their `/proc/<pid>/stat`, where readable).
 *
 * For experiments (never needed for `pnpm bench`): `ANON_BENCH_INGEST=postgres|pglite` runs one store,
 * `ANON_BENCH_BATCH`, `ANON_BENCH_FLUSH_MS`, `ANON_BENCH_CONSUMERS`, `ANON_BENCH_STAGING` (the store's
 * `staging`) and `ANON_BENCH_SECONDS` (sustained phase; paced is a quarter of it) override the defaults below.
 */
import { readFileSync } from 'node:fs';
import { memoryQueue } from '@anon/core/memory';
import { type PostgresClient, type PostgresStore, postgresStore, type StagingMode } from '@anon/postgres';
import type pg from 'pg';
import type { BenchPlan } from './options.js';
import { connectPostgres, PG_URL, RUN_ID } from './services.js';
import { percentile, round, Samples, sleep } from './stats.js';
import { TrafficSource } from './traffic.js';

/** CPU spent per committed page view during a phase, in µs. */
export interface IngestCpu {
  /** The writing process: queue, consumers and the store's driver (PGlite's database included), producer excluded. */
  workerUsPerView: number;
  /** The producer's share of this process, excluded above (generating the traffic, `enqueue`). */
  producerUsPerView: number;
  /** The Postgres backends serving the consumers (null for PGlite, or when `/proc` cannot be read). */
  serverUsPerView: number | null;
}

/** One phase of load through the queue into a store. */
export interface IngestPhase {
  seconds: number;
  /** Page views committed per second (their sessions, metrics, uniques and aggregates in the same writes). */
  viewsPerSecond: number;
  /** Events of every kind committed per second. */
  eventsPerSecond: number;
  /** From `enqueue` to the commit of the batch holding the page view, in ms (one view in eight sampled). */
  lagP50Ms: number;
  lagP99Ms: number;
  /** Events per batch written, on average. */
  eventsPerBatch: number;
  cpu: IngestCpu;
  /** For the paced phase: the page views per second offered. */
  offeredPerSecond?: number;
}

export interface IngestResult {
  skipped?: string;
  consumers?: number;
  /** The queue's `batchSize`: the most events one write takes (fewer when the queue holds fewer). */
  batchSize?: number;
  /** The queue's `flushIntervalMs`: how long a batch smaller than `batchSize` waits for more. */
  flushIntervalMs?: number;
  /** As many views as the store takes, a bounded backlog always waiting (sustained throughput). */
  sustained?: IngestPhase;
  /** A steady 70 % of the sustained rate: the lag a store with headroom gives. */
  paced?: IngestPhase;
  /** Rows found in the store afterwards: the work was real. */
  stored?: { pageViews: number; sessions: number; uniqueVisitorRows: number; aggregateViews: number };
  /** Batches whose write failed and were retried by the queue. */
  retries?: number;
}

/**
 * How each store is fed (docs/postgres.md, "Sizing"). The queue hands a consumer up to `batchSize` events at
 * once, or what it holds after `flushIntervalMs`: full batches under load, small ones when it is quiet.
 */
const SETUP = {
  postgres: { consumers: 2, batchSize: 5_000, flushIntervalMs: 100 },
  // One embedded connection: a second consumer would only queue behind the first.
  pglite: { consumers: 1, batchSize: 5_000, flushIntervalMs: 100 },
} as const;
const VISITORS = 50_000;

interface Target {
  store: PostgresStore;
  client: PostgresClient;
  schema: string;
  /** CPU seconds of the database processes serving this target so far, or null when not measurable. */
  serverCpuSeconds(): number | null;
  close(): Promise<void>;
}

/** `ANON_BENCH_STAGING=unnest|copy`: the store's staging mode, for comparing them. */
const staging = (): { staging?: StagingMode } =>
  process.env.ANON_BENCH_STAGING === undefined
    ? {}
    : { staging: process.env.ANON_BENCH_STAGING as StagingMode };

const envNumber = (name: string): number | undefined => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
};

/** utime + stime of a process, in seconds (Linux `/proc`; clock ticks of 1/100 s), or null. */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function postgresTarget(consumers: number): Promise<Target | string> {
  const reached = await connectPostgres(consumers + 2);
  if (!reached.ok) return reached.reason;
  const pool = reached.value;
  const backends = new Set<number>();
  pool.on('connect', (client: pg.PoolClient) => {
    client.query('SELECT pg_backend_pid() AS pid').then(
      (r) => backends.add(Number((r.rows[0] as { pid: number }).pid)),
      () => undefined,
    );
  });
  // The pool keeps the connection of the reachability check: count its backend too.
  const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
  backends.add(Number((rows[0] as { pid: number }).pid));
  const schema = `anon_bench_${RUN_ID}`;
  const store = postgresStore(pool, { schema, ...staging() });
  await store.migrate();
  return {
    store,
    client: pool,
    schema,
    serverCpuSeconds: () => {
      let total = 0;
      for (const pid of backends) {
        const s = processCpuSeconds(pid);
        if (s === null) return null;
        total += s;
      }
      return total;
    },
    close: async () => {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

async function pgliteTarget(): Promise<Target | string> {
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite();
    await db.waitReady;
    const store = postgresStore(db, { schema: 'anon', ...staging() });
    await store.migrate();
    return {
      store,
      client: db,
      schema: 'anon',
      serverCpuSeconds: () => null,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  } catch (error) {
    return `PGlite could not start: ${(error as Error).message}`;
  }
}

const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/**
 * Page views from the in-process queue into a store, with `consumers` workers draining it the way the
 * tracker's worker does (a batch is acknowledged once `store.write` resolves).
 */
async function runIngest(
  target: Target,
  setup: { consumers: number; batchSize: number; flushIntervalMs: number },
  seconds: { sustain: number; paced: number },
  log: (line: string) => void,
  label: string,
): Promise<IngestResult> {
  const { consumers, batchSize, flushIntervalMs } = setup;
  const queue = memoryQueue({ batchSize, flushIntervalMs, maxEvents: 4_000_000 });
  const traffic = new TrafficSource(VISITORS);
  const enqueuedAt = new Map<string, number>();
  let phaseLags = new Samples();
  let committedViews = 0;
  let committedEvents = 0;
  let batches = 0;
  let retries = 0;
  let producerCpu = 0;
  let produced = 0;
  const seen = new Set<string>();
  const workers = Array.from({ length: consumers }, () =>
    queue.consume(async (batch) => {
      if (seen.has(batch.id)) retries++;
      seen.add(batch.id);
      await target.store.write(batch);
      const now = performance.now();
      for (const event of batch.events) {
        if (event.type !== 'pageview') continue;
        committedViews++;
        const at = enqueuedAt.get(event.id);
        if (at === undefined) continue;
        enqueuedAt.delete(event.id);
        phaseLags.push(now - at);
      }
      committedEvents += batch.events.length;
      batches++;
    }),
  );
  const produce = (count: number) => {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const { viewId, events } = traffic.next();
      // The lag of one view in eight: plenty of samples, a fraction of the bookkeeping.
      if (++produced % 8 === 0) enqueuedAt.set(viewId, performance.now());
      // One enqueue per page view, as `track()` does.
      queue.enqueue(events);
    }
    producerCpu += cpuMicros(process.cpuUsage(cpu0));
  };

  /** Runs one phase: `offer` decides how many views to add on each 2 ms tick. */
  const phase = async (seconds: number, offer: (elapsedMs: number) => number): Promise<IngestPhase> => {
    phaseLags = new Samples();
    const views0 = committedViews;
    const events0 = committedEvents;
    const batches0 = batches;
    const producer0 = producerCpu;
    const server0 = target.serverCpuSeconds();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < seconds * 1_000) {
      produce(offer(performance.now() - start));
      await sleep(2);
    }
    const elapsed = (performance.now() - start) / 1_000;
    const processCpu = cpuMicros(process.cpuUsage(cpu0));
    const server1 = target.serverCpuSeconds();
    const views = committedViews - views0;
    const producer = producerCpu - producer0;
    const perView = (us: number) => (views > 0 ? round(us / views, 2) : Number.NaN);
    return {
      seconds: round(elapsed, 1),
      viewsPerSecond: round(views / elapsed, 0),
      eventsPerSecond: round((committedEvents - events0) / elapsed, 0),
      lagP50Ms: round(percentile(phaseLags.values(), 50), 1),
      lagP99Ms: round(percentile(phaseLags.values(), 99), 1),
      eventsPerBatch: round((committedEvents - events0) / Math.max(1, batches - batches0), 0),
      cpu: {
        workerUsPerView: perView(processCpu - producer),
        producerUsPerView: perView(producer),
        serverUsPerView: server0 === null || server1 === null ? null : perView((server1 - server0) * 1e6),
      },
    };
  };
  const cpuLine = (c: IngestCpu) =>
    `worker ${c.workerUsPerView} µs/view (producer ${c.producerUsPerView})${c.serverUsPerView === null ? '' : `, Postgres backends ${c.serverUsPerView} µs/view`}`;

  // A backlog of about two full batches per consumer: the store never waits for work, and lag stays bounded.
  const backlog = batchSize * consumers * 2;
  const eventsPerView = 2.3;
  const sustained = await phase(seconds.sustain, () =>
    Math.max(0, Math.floor((backlog - queue.depth()) / eventsPerView)),
  );
  log(
    `  ${label} sustained: ${sustained.viewsPerSecond} views/s (${sustained.eventsPerSecond} events/s, ${sustained.eventsPerBatch} events/batch), lag p99 ${sustained.lagP99Ms} ms; ${cpuLine(sustained.cpu)}`,
  );
  await queue.flush();
  const rate = Math.max(1, Math.floor(sustained.viewsPerSecond * 0.7));
  let offered = 0;
  const paced = await phase(seconds.paced, (elapsedMs) => {
    const due = Math.floor((rate * elapsedMs) / 1_000) - offered;
    offered += due;
    return due;
  });
  paced.offeredPerSecond = rate;
  await queue.flush();
  log(
    `  ${label} paced at ${rate} views/s: committed ${paced.viewsPerSecond}/s, lag p50 ${paced.lagP50Ms} ms p99 ${paced.lagP99Ms} ms (${paced.eventsPerBatch} events/batch); ${cpuLine(paced.cpu)}`,
  );
  await Promise.all(workers.map((w) => w.stop()));
  await queue.close();

  const s = target.schema;
  const count = async (sql: string): Promise<number> => {
    const { rows } = await target.client.query(sql);
    return Number((rows[0] as { n: string | number | null }).n ?? 0);
  };
  return {
    consumers,
    batchSize,
    flushIntervalMs,
    sustained,
    paced,
    stored: {
      pageViews: await count(`SELECT count(*) AS n FROM "${s}".page_views`),
      sessions: await count(`SELECT count(*) AS n FROM "${s}".sessions`),
      uniqueVisitorRows: await count(`SELECT count(*) AS n FROM "${s}".page_visitors`),
      aggregateViews: await count(`SELECT sum(views) AS n FROM "${s}".daily_aggregates`),
    },
    retries,
  };
}

/** Ingest into the local Postgres and into PGlite. */
export async function measureIngest(
  plan: BenchPlan,
  log: (line: string) => void,
): Promise<{ postgres: IngestResult; pglite: IngestResult }> {
  const only = process.env.ANON_BENCH_INGEST;
  const sustain = envNumber('ANON_BENCH_SECONDS') ?? plan.ingest.sustainSeconds;
  const seconds = {
    sustain,
    paced: envNumber('ANON_BENCH_SECONDS') === undefined ? plan.ingest.pacedSeconds : sustain / 4,
  };
  const setupOf = (name: keyof typeof SETUP) => ({
    consumers: envNumber('ANON_BENCH_CONSUMERS') ?? SETUP[name].consumers,
    batchSize: envNumber('ANON_BENCH_BATCH') ?? SETUP[name].batchSize,
    flushIntervalMs: envNumber('ANON_BENCH_FLUSH_MS') ?? SETUP[name].flushIntervalMs,
  });
  let postgres: IngestResult = { skipped: 'not run (ANON_BENCH_INGEST=pglite)' };
  if (only === undefined || only === 'postgres') {
    const setup = setupOf('postgres');
    const pg = await postgresTarget(setup.consumers);
    if (typeof pg === 'string') postgres = { skipped: pg };
    else {
      try {
        postgres = await runIngest(
          pg,
          setup,
          seconds,
          log,
          `Postgres (${PG_URL.replace(/\/\/[^@]*@/, '//')})`,
        );
      } finally {
        await pg.close();
      }
    }
  }
  let pglite: IngestResult = { skipped: 'not run (ANON_BENCH_INGEST=postgres)' };
  if (only === undefined || only === 'pglite') {
    const lite = await pgliteTarget();
    if (typeof lite === 'string') pglite = { skipped: lite };
    else {
      try {
        pglite = await runIngest(lite, setupOf('pglite'), seconds, log, 'PGlite (in-process, in-memory)');
      } finally {
        await lite.close();
      }
    }
  }
  return { postgres, pglite };
}
