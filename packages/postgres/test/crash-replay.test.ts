import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnonEvent, EventBatch, PageMetric, PageView } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresClient, postgresStore } from '../src/index.js';
import { connectPostgres, PG_URL, uniqueSchema } from './backends.js';
import { batch, ev, metric, T0, visit } from './fixtures.js';
import { storeProbe } from './probe.js';

// A worker that commits a batch and dies before acknowledging it: the queue delivers the batch again (same id),
// or its events again in other batches (a stream claimed by another consumer regroups them). Whatever arrives,
// nothing is counted twice. The batch here is large (COPY of thousands of rows through the staging tables),
// and the worker is a real process killed with SIGKILL right after its write resolved.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const STORE_MODULE = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const require = createRequire(import.meta.url);
const PG_MODULE = pathToFileURL(require.resolve('pg')).href;
const PGLITE_MODULE = pathToFileURL(require.resolve('@electric-sql/pglite')).href;
const scratch = mkdtempSync(join(tmpdir(), 'anon-crash-replay-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** About 2 500 sessions of 1 to 6 views, their metrics and summaries (bounces' first and final summaries both). */
function largeBatch(): { batch: EventBatch; views: PageView[]; metrics: PageMetric[] } {
  const views: PageView[] = [];
  const metrics: PageMetric[] = [];
  const events: AnonEvent[] = [];
  const paths = ['/', '/pricing', '/posts/:id', '/docs/:page', '/signup', '/a\ttab\\slash\nline'];
  for (let i = 0; i < 2_500; i++) {
    const length = 1 + (i % 6);
    const v = visit(
      `crash-${i}`,
      Array.from({ length }, (_, k) => paths[(i + k * 7) % paths.length]!),
      {
        start: T0 + i * 1_000,
        // Visitors come back: one key for several sessions, so unique visitors and their view counts matter.
        visitorKey: `visitor-${i % 700}`,
        device: (['desktop', 'mobile', 'tablet'] as const)[i % 3],
        ...(i % 5 === 0 ? { userId: `user-${i % 40}` } : {}),
        ...(i % 23 === 0 ? { isBot: true } : {}),
      },
    );
    views.push(...v.views);
    events.push(...v.views.map(ev.view));
    for (const view of v.views.slice(0, -1)) {
      const m = metric(view, 'time_on_page', 60_000);
      metrics.push(m);
      events.push(ev.metric(m));
    }
    const first = {
      ...v.session,
      lastSeenAt: v.session.startedAt,
      endedAt: null,
      pageViews: 1,
      exitPath: v.views[0]!.path,
    };
    events.push(ev.session({ ...first, durationMs: 0 }), ev.session(v.session));
  }
  return { batch: batch(events, 'crash-batch'), views, metrics };
}

/**
 * A worker process: consumes the batch from an in-process queue, writes it with a store built by `storeCode`
 * (which defines `store`), prints `committed <written>` and kills itself before its handler returns (the ack).
 */
function killedWorker(
  storeCode: string,
  file: string,
): ChildProcess & { lines: string[]; done: Promise<string | null> } {
  const code = `
    const { readFileSync } = await import('node:fs');
    const { memoryQueue } = await import('@anon/core/memory');
    const { postgresStore } = await import(${JSON.stringify(STORE_MODULE)});
    ${storeCode}
    const { events } = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'));
    const queue = memoryQueue({ batchSize: events.length + 1, flushIntervalMs: 0 });
    queue.consume(async (batch) => {
      const result = await store.write({ ...batch, id: 'crash-batch' });
      console.log('committed ' + result.written);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    });
    queue.enqueue(events);
    // The queue's timers do not hold a process open: keep this one alive until the kill.
    setInterval(() => {}, 1_000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  }) as ChildProcess & { lines: string[]; done: Promise<string | null> };
  child.lines = [];
  child.stdout?.on('data', (chunk: Buffer) =>
    child.lines.push(...chunk.toString().split('\n').filter(Boolean)),
  );
  child.done = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return child;
}

/** Every row the write touched, from the tables themselves. */
async function rawState(client: PostgresClient, schema: string) {
  const rows = async (sql: string) => (await client.query(sql)).rows;
  const s = `"${schema}"`;
  return {
    aggregates: await rows(`SELECT * FROM ${s}.daily_aggregates ORDER BY day, path COLLATE "C"`),
    visitors: await rows(
      `SELECT * FROM ${s}.page_visitors ORDER BY day, path COLLATE "C", visitor_key COLLATE "C"`,
    ),
    views: await rows(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE is_bot)::int AS bots FROM ${s}.page_views`,
    ),
    metrics: await rows(`SELECT count(*)::int AS n, sum(value) AS total FROM ${s}.page_metrics`),
    sessions: await rows(`SELECT * FROM ${s}.sessions ORDER BY id COLLATE "C"`),
    batches: await rows(`SELECT id, events FROM ${s}.batches ORDER BY id`),
  };
}

const server = await connectPostgres();
afterAll(async () => {
  await server?.end();
});

interface Setup {
  name: string;
  /** The code of the worker's store; `schema` or `dir` identify the database it shares with the test. */
  child(file: string): string;
  /** The test's own client on the same database, once the worker is gone. */
  open(): Promise<{ client: PostgresClient; schema: string; close(): Promise<void> }>;
}

function setups(): Setup[] {
  const list: Setup[] = [];
  if (server !== null) {
    const schema = uniqueSchema();
    list.push({
      name: 'postgres',
      child: () => `
        const pg = (await import(${JSON.stringify(PG_MODULE)})).default;
        const store = postgresStore(new pg.Pool({ connectionString: ${JSON.stringify(PG_URL)} }), { schema: ${JSON.stringify(schema)} });`,
      open: async () => ({
        client: server.client,
        schema,
        close: async () => {
          await server.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        },
      }),
    });
  }
  const dir = join(scratch, 'pglite');
  list.push({
    name: 'pglite (a folder)',
    child: () => `
      const { PGlite } = await import(${JSON.stringify(PGLITE_MODULE)});
      const store = postgresStore(new PGlite(${JSON.stringify(dir)}));`,
    open: async () => {
      const db = new PGlite(dir);
      await db.waitReady;
      return { client: db, schema: 'anon', close: () => db.close() };
    },
  });
  return list;
}

describe.each(setups())('a worker killed between commit and ack, on $name', (setup) => {
  it('the batch delivered again, or its events in other batches, leaves every count unchanged', async () => {
    const { batch: large, views, metrics } = largeBatch();
    expect(large.events.length).toBeGreaterThan(19_000);
    const file = join(scratch, `batch-${setup.name.replace(/\W/g, '')}.json`);
    writeFileSync(file, JSON.stringify(large));

    const worker = killedWorker(setup.child(file), file);
    expect(await worker.done, `worker output: ${worker.lines.join(' | ')}`).toBe('SIGKILL');
    const committed = worker.lines.find((l) => l.startsWith('committed '));
    expect(committed, `worker output: ${worker.lines.join(' | ')}`).toBeDefined();

    const db = await setup.open();
    try {
      const store = postgresStore(db.client, { schema: db.schema });
      const before = await rawState(db.client, db.schema);
      // The write was committed whole before the kill, and counted as it should.
      expect(before.batches).toEqual([{ id: 'crash-batch', events: large.events.length }]);
      const probe = storeProbe(db.client, db.schema);
      expect(await probe.aggregates()).toEqual(recomputeAggregates(views, metrics));
      expect(Number(committed!.split(' ')[1])).toBe(
        views.length + metrics.length + large.events.filter((e) => e.type === 'session').length,
      );

      // Delivered again: the ledger stops it.
      expect(await store.write(large)).toEqual({ applied: false, written: 0 });
      // Its events again, regrouped by another consumer under new batch ids, in another order.
      const again = [...large.events].reverse();
      for (let i = 0; i < again.length; i += 7_000) {
        expect(await store.write(batch(again.slice(i, i + 7_000)))).toEqual({ applied: true, written: 0 });
      }
      const after = await rawState(db.client, db.schema);
      expect({ ...after, batches: after.batches.length }).toEqual({ ...before, batches: 4 });
      await store.close();
    } finally {
      await db.close();
    }
  }, 180_000);
});
