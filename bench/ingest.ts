import { memoryQueue } from '@anon/core/memory';
import { type PostgresClient, type PostgresStore, postgresStore } from '@anon/postgres';
import type { BenchPlan } from './options.js';
import { connectPostgres, PG_URL, RUN_ID } from './services.js';
import { percentile, round, Samples, sleep } from './stats.js';
import { TrafficSource } from './traffic.js';

/** One phase of load through the queue into a store. */
export interface IngestPhase {
  seconds: number;
  /** Page views committed per second (their sessions, metrics, uniques and aggregates in the same writes). */
  viewsPerSecond: number;
  /** Events of every kind committed per second. */
  eventsPerSecond: number;
  /** From `enqueue` to the commit of the batch holding the page view, in ms. */
  lagP50Ms: number;
  lagP99Ms: number;
  /** For the paced phase: the page views per second offered. */
  offeredPerSecond?: number;
}

export interface IngestResult {
  skipped?: string;
  consumers?: number;
  batchSize?: number;
  /** As many views as the store takes, a bounded backlog always waiting (sustained throughput). */
  sustained?: IngestPhase;
  /** A steady 70 % of the sustained rate: the lag a store with headroom gives. */
  paced?: IngestPhase;
  /** Rows found in the store afterwards: the work was real. */
  stored?: { pageViews: number; sessions: number; uniqueVisitorRows: number; aggregateViews: number };
  /** Batches whose write failed and were retried by the queue. */
  retries?: number;
}

const BATCH_SIZE = 500;
const VISITORS = 50_000;

interface Target {
  store: PostgresStore;
  client: PostgresClient;
  schema: string;
  close(): Promise<void>;
}

async function postgresTarget(consumers: number): Promise<Target | string> {
  const reached = await connectPostgres(consumers + 2);
  if (!reached.ok) return reached.reason;
  const pool = reached.value;
  const schema = `anon_bench_${RUN_ID}`;
  const store = postgresStore(pool, { schema });
  await store.migrate();
  return {
    store,
    client: pool,
    schema,
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
    const store = postgresStore(db, { schema: 'anon' });
    await store.migrate();
    return {
      store,
      client: db,
      schema: 'anon',
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  } catch (error) {
    return `PGlite could not start: ${(error as Error).message}`;
  }
}

/**
 * Page views from the in-process queue into a store, with `consumers` workers draining it the way the
 * tracker's worker does (a batch is acknowledged once `store.write` resolves).
 */
async function runIngest(
  target: Target,
  consumers: number,
  plan: BenchPlan,
  log: (line: string) => void,
  label: string,
): Promise<IngestResult> {
  const queue = memoryQueue({ batchSize: BATCH_SIZE, maxEvents: 1_000_000 });
  const traffic = new TrafficSource(VISITORS);
  const enqueuedAt = new Map<string, number>();
  let phaseLags = new Samples();
  let committedViews = 0;
  let committedEvents = 0;
  let retries = 0;
  const seen = new Set<string>();
  const workers = Array.from({ length: consumers }, () =>
    queue.consume(async (batch) => {
      if (seen.has(batch.id)) retries++;
      seen.add(batch.id);
      await target.store.write(batch);
      const now = performance.now();
      for (const event of batch.events) {
        if (event.type !== 'pageview') continue;
        const at = enqueuedAt.get(event.id);
        if (at === undefined) continue;
        enqueuedAt.delete(event.id);
        phaseLags.push(now - at);
        committedViews++;
      }
      committedEvents += batch.events.length;
    }),
  );
  const produce = (count: number) => {
    for (let i = 0; i < count; i++) {
      const { viewId, events } = traffic.next();
      enqueuedAt.set(viewId, performance.now());
      // One enqueue per page view, as `track()` does.
      queue.enqueue(events);
    }
  };

  /** Runs one phase: `offer` decides how many views to add on each 2 ms tick. */
  const phase = async (seconds: number, offer: (elapsedMs: number) => number): Promise<IngestPhase> => {
    phaseLags = new Samples();
    const views0 = committedViews;
    const events0 = committedEvents;
    const start = performance.now();
    while (performance.now() - start < seconds * 1_000) {
      produce(offer(performance.now() - start));
      await sleep(2);
    }
    const elapsed = (performance.now() - start) / 1_000;
    return {
      seconds: round(elapsed, 1),
      viewsPerSecond: round((committedViews - views0) / elapsed, 0),
      eventsPerSecond: round((committedEvents - events0) / elapsed, 0),
      lagP50Ms: round(percentile(phaseLags.values(), 50), 1),
      lagP99Ms: round(percentile(phaseLags.values(), 99), 1),
    };
  };

  // A backlog of about four batches per consumer: the store never waits for work, and lag stays bounded.
  const backlog = BATCH_SIZE * consumers * 4;
  const eventsPerView = 2.3;
  const sustained = await phase(plan.ingest.sustainSeconds, () =>
    Math.max(0, Math.floor((backlog - queue.depth()) / eventsPerView)),
  );
  log(
    `  ${label} sustained: ${sustained.viewsPerSecond} views/s (${sustained.eventsPerSecond} events/s), lag p99 ${sustained.lagP99Ms} ms`,
  );
  await queue.flush();
  const rate = Math.max(1, Math.floor(sustained.viewsPerSecond * 0.7));
  let offered = 0;
  const paced = await phase(plan.ingest.pacedSeconds, (elapsedMs) => {
    const due = Math.floor((rate * elapsedMs) / 1_000) - offered;
    offered += due;
    return due;
  });
  paced.offeredPerSecond = rate;
  await queue.flush();
  log(
    `  ${label} paced at ${rate} views/s: committed ${paced.viewsPerSecond}/s, lag p50 ${paced.lagP50Ms} ms p99 ${paced.lagP99Ms} ms`,
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
    batchSize: BATCH_SIZE,
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
  const consumers = 2;
  let postgres: IngestResult;
  const pg = await postgresTarget(consumers);
  if (typeof pg === 'string') postgres = { skipped: pg };
  else {
    try {
      postgres = await runIngest(
        pg,
        consumers,
        plan,
        log,
        `Postgres (${PG_URL.replace(/\/\/[^@]*@/, '//')})`,
      );
    } finally {
      await pg.close();
    }
  }
  let pglite: IngestResult;
  const lite = await pgliteTarget();
  if (typeof lite === 'string') pglite = { skipped: lite };
  else {
    try {
      // PGlite is one embedded connection: a second consumer would only queue behind the first.
      pglite = await runIngest(lite, 1, plan, log, 'PGlite (in-process, in-memory)');
    } finally {
      await lite.close();
    }
  }
  return { postgres, pglite };
}
