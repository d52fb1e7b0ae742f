import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VariantResult } from './overhead.js';
import type { BenchResults } from './run.js';
import { FRAMEWORKS, type Framework, VARIANTS } from './variants.js';

/** The bar issue 12 sets (DESIGN.md §7); figures for the record, never assertions. */
export const TARGETS = {
  /** Synchronous `track()` per tracked request, µs. */
  requestPathUs: 2,
  /** Process CPU per tracked view over the floor, µs. */
  memoryCpuOverFloorUs: 5,
  redisCpuOverFloorUs: 10,
  redisCommandsPerView: 0.1,
  redisViewsPerSecond: 50_000,
  /** Throughput ÷ bare. */
  memoryRatio: { express: 0.8, koa: 0.72, fastify: 0.72, hono: 0.72 } as Record<Framework, number>,
  redisRatio: { express: 0.77, koa: 0.58, fastify: 0.58, hono: 0.58 } as Record<Framework, number>,
  coldP50Us: 30,
  hostileWorstUs: 1_000,
  hostileLagP99Ms: 10,
  postgresViewsPerSecond: 50_000,
  pgliteViewsPerSecond: 15_000,
  /** Enqueue → commit at 70 % of the sustained rate, p99. */
  ingestLagP99Ms: 2_000,
  /** CPU of the writing process per page view (producer excluded). */
  ingestWorkerCpuUs: 15,
} as const;

type Status = 'met' | 'missed' | 'not measured';

interface Row {
  figure: string;
  measured: string;
  target: string;
  status: Status;
  /** By how much, and what the run measured that bears on it: one line, computed from the run. */
  note: string;
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** A row comparing `value` with `target` (`atMost`: lower is better). */
function row(
  figure: string,
  value: number | null | undefined,
  target: number,
  atMost: boolean,
  unit: { measured: string; target: string; digits: number },
  why: { missing: string; missed?: () => string },
): Row {
  if (!finite(value)) {
    return { figure, measured: '—', target: unit.target, status: 'not measured', note: why.missing };
  }
  const ok = atMost ? value <= target : value >= target;
  const by = atMost ? value - target : target - value;
  const ratio = unit.measured === '×';
  const short = `short by ${fmt(by, unit.digits)}${unit.measured === '' || ratio ? '' : ` ${unit.measured}`}`;
  return {
    figure,
    measured: ratio ? `×${fmt(value, unit.digits)}` : `${fmt(value, unit.digits)} ${unit.measured}`.trim(),
    target: unit.target,
    status: ok ? 'met' : 'missed',
    note: ok ? '' : [short, why.missed?.()].filter(Boolean).join('; '),
  };
}

function label(framework: Framework): string {
  return framework[0]!.toUpperCase() + framework.slice(1);
}

/** CPU time per request a framework can give anon at its bare speed before throughput falls below `ratio`. */
function budgetUs(bareRps: number, ratio: number): number {
  return (1 / ratio - 1) * (1e6 / bareRps);
}

function targetRows(r: BenchResults): Row[] {
  const o = r.overhead;
  const c = r.cpu;
  const h = r.hotStore;
  const overheadMissing = r.sections.overhead?.error ?? (o === undefined ? 'section not run' : '');
  const cpuMissing = r.sections.cpu?.error ?? 'section not run';
  const rows: Row[] = [];
  const us = (digits: number, target: string) => ({ measured: 'µs', target, digits });

  for (const framework of FRAMEWORKS) {
    const f = o?.frameworks[framework];
    const path = f?.memory.requestPath;
    rows.push(
      row(
        `${label(framework)}: request-path CPU per tracked request (track() p50, under load)`,
        path?.p50Us,
        TARGETS.requestPathUs,
        true,
        us(2, `≤ ${TARGETS.requestPathUs} µs`),
        {
          missing: f?.memory.skipped ?? overheadMissing,
          missed: () =>
            `mean ${fmt(path?.meanUs, 2)} µs, p99 ${fmt(path?.p99Us, 2)} µs over ${fmt(path?.calls)} calls`,
        },
      ),
    );
  }
  for (const [variant, target] of [
    ['memory', TARGETS.memoryCpuOverFloorUs],
    ['redis', TARGETS.redisCpuOverFloorUs],
  ] as const) {
    for (const framework of FRAMEWORKS) {
      const f = o?.frameworks[framework];
      const x = f?.[variant];
      rows.push(
        row(
          `${label(framework)} + ${variant} hot store: process CPU per tracked view over the floor${variant === 'redis' ? ' (client side)' : ''}`,
          x?.addedCpuOverFloorUs,
          target,
          true,
          us(1, `≤ ${target} µs`),
          {
            missing: x?.skipped ?? overheadMissing,
            missed: () =>
              `${fmt(x?.addedCpuOverBareUs, 1)} µs over bare, the floor itself ${fmt(f?.floor.addedCpuOverBareUs, 1)} µs; the synchronous track() p50 ${fmt(f?.memory.requestPath?.p50Us, 2)} µs of it, the rest is the binding's mapping and the batch behind it`,
          },
        ),
      );
    }
  }
  const redisCommands = FRAMEWORKS.map((fw) => o?.frameworks[fw]?.redis.redisPerView?.clientCommands).filter(
    finite,
  );
  rows.push(
    row(
      'Redis commands per view (tracked servers, worst framework)',
      redisCommands.length > 0 ? Math.max(...redisCommands) : null,
      TARGETS.redisCommandsPerView,
      true,
      { measured: '', target: `≤ ${TARGETS.redisCommandsPerView}`, digits: 3 },
      {
        missing: o?.frameworks.express?.redis.skipped ?? overheadMissing,
        missed: () =>
          `hot store ${o?.frameworks.express?.redis.batchForm === 'looped' ? 'has no recordPageViews yet: the bench looped recordPageView (one script call per view)' : 'batch form native'}`,
      },
    ),
  );
  rows.push(
    row(
      'Redis hot store throughput through one Redis (recordPageViews batches)',
      h?.batched?.viewsPerSecond,
      TARGETS.redisViewsPerSecond,
      false,
      { measured: 'views/s', target: `≥ ${fmt(TARGETS.redisViewsPerSecond)} views/s`, digits: 0 },
      {
        missing: h?.skipped ?? r.sections['hot-store']?.error ?? 'section not run',
        missed: () =>
          `${h?.batchForm === 'looped' ? 'recordPageViews missing: looped recordPageView; ' : ''}${fmt(h?.batched?.commandsPerView, 3)} commands per view, Redis server CPU ${fmt(h?.batched?.serverCpuPerViewUs, 1)} µs per view`,
      },
    ),
  );
  for (const [variant, targets] of [
    ['memory', TARGETS.memoryRatio],
    ['redis', TARGETS.redisRatio],
  ] as const) {
    for (const framework of FRAMEWORKS) {
      const f = o?.frameworks[framework];
      const x = f?.[variant];
      const target = targets[framework];
      rows.push(
        row(
          `${label(framework)} + ${variant} hot store: throughput ÷ bare`,
          x?.ratioToBare,
          target,
          false,
          { measured: '×', target: `≥ ${target}`, digits: 3 },
          {
            missing: x?.skipped ?? f?.bare.skipped ?? overheadMissing,
            missed: () => {
              const bare = f?.bare.rps;
              return `×${fmt(x?.ratioToFloor, 3)} of the floor; anon added ${fmt(x?.addedCpuOverBareUs, 1)} µs of CPU per request over bare${finite(bare) ? `, and at ${fmt(bare)} rps bare the budget for ×${target} is ${fmt(budgetUs(bare, target), 1)} µs` : ''}${variant === 'redis' ? '; Redis shares the 2 cores with the app and the load generator' : ''}`;
            },
          },
        ),
      );
    }
  }
  rows.push(
    row(
      'track() CPU, warm UA, p50 (tinybench)',
      c?.warm.p50Us,
      TARGETS.requestPathUs,
      true,
      us(2, `≤ ${TARGETS.requestPathUs} µs`),
      { missing: cpuMissing, missed: () => `p99 ${fmt(c?.warm.p99Us, 2)} µs` },
    ),
    row(
      'track() CPU, cold UA, p50 (tinybench)',
      c?.cold.p50Us,
      TARGETS.coldP50Us,
      true,
      us(2, `≤ ${TARGETS.coldP50Us} µs`),
      { missing: cpuMissing, missed: () => `p99 ${fmt(c?.cold.p99Us, 2)} µs` },
    ),
    row(
      'worst single track() on hostile user agents',
      c ? Math.max(c.hostile.worstUs, c.hostile.stream?.worstTrackUs ?? 0) : null,
      TARGETS.hostileWorstUs,
      true,
      us(0, `≤ ${fmt(TARGETS.hostileWorstUs)} µs`),
      {
        missing: cpuMissing,
        missed: () =>
          `one by one ${fmt(c?.hostile.worstUs)} µs (${c?.hostile.worstAgent}); in the stream ${fmt(c?.hostile.stream?.worstTrackUs)} µs (a wall-clock figure: a GC pause or a preemption lands in it)`,
      },
    ),
    row(
      'event-loop lag p99 while tracking unique hostile user agents',
      c?.hostile.stream?.lagP99Ms,
      TARGETS.hostileLagP99Ms,
      true,
      { measured: 'ms', target: `≤ ${TARGETS.hostileLagP99Ms} ms`, digits: 2 },
      {
        missing: cpuMissing,
        missed: () =>
          `max ${fmt(c?.hostile.stream?.lagMaxMs, 1)} ms at ${fmt(c?.hostile.stream?.viewsPerSecond)} hostile views/s; the slowest shape one by one: ${c?.hostile.worstAgent}`,
      },
    ),
  );
  for (const [name, x, target] of [
    ['the local Postgres', r.ingest?.postgres, TARGETS.postgresViewsPerSecond],
    ['PGlite', r.ingest?.pglite, TARGETS.pgliteViewsPerSecond],
  ] as const) {
    const missing = x?.skipped ?? r.sections.ingest?.error ?? 'section not run';
    const setup = x?.sustained
      ? `${fmt(x.sustained.eventsPerSecond)} events/s in transactions of up to ${x.batchSize} events from ${x.consumers} consumer(s)`
      : '';
    rows.push(
      row(
        `ingest into ${name}, sustained`,
        x?.sustained?.viewsPerSecond,
        target,
        false,
        { measured: 'views/s', target: `≥ ${fmt(target)} views/s`, digits: 0 },
        {
          missing,
          missed: () =>
            `${setup}; CPU per view: worker ${fmt(x?.sustained?.cpu?.workerUsPerView, 1)} µs, producer ${fmt(x?.sustained?.cpu?.producerUsPerView, 1)} µs${name === 'PGlite' ? ' (the database included: PGlite runs in the process)' : `, Postgres backends ${fmt(x?.sustained?.cpu?.serverUsPerView, 1)} µs`}, all on 2 cores`,
        },
      ),
      row(
        `ingest into ${name}: lag p99 at 70 % of sustained`,
        x?.paced?.lagP99Ms,
        TARGETS.ingestLagP99Ms,
        true,
        { measured: 'ms', target: `≤ ${fmt(TARGETS.ingestLagP99Ms)} ms`, digits: 0 },
        { missing },
      ),
      row(
        `ingest into ${name}: worker CPU per page view (sustained)`,
        x?.sustained?.cpu?.workerUsPerView,
        TARGETS.ingestWorkerCpuUs,
        true,
        { measured: 'µs', target: `≤ ${TARGETS.ingestWorkerCpuUs} µs`, digits: 1 },
        {
          missing,
          missed: () =>
            name === 'PGlite'
              ? 'the writing process runs the database itself (PGlite is Postgres in WebAssembly, in-process)'
              : 'process.cpuUsage() of the writing process minus its producer; garbage collection of the producer’s events lands in it',
        },
      ),
    );
  }
  return rows;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** A hand-written explanation of the shortfalls, from a profile, kept beside the generator (optional). */
const SHORTFALLS = fileURLToPath(new URL('./SHORTFALLS.md', import.meta.url));

function variantLine(framework: Framework, variant: string, x: VariantResult): string {
  if (x.rps === null)
    return `| ${label(framework)} | ${variant} | skipped: ${cell(x.skipped ?? '?')} | | | | | | | | |`;
  const tracked = x.stats === null ? '—' : `${fmt(x.stats.tracked)} / ${fmt(x.responses)}`;
  const ratio = (v: number | null) => (variant === 'bare' ? '1' : `×${fmt(v, 3)}`);
  return `| ${label(framework)} | ${variant} | ${fmt(x.rps)} | ${ratio(x.ratioToBare)} | ${variant === 'bare' || variant === 'floor' ? '' : `×${fmt(x.ratioToFloor, 3)}`} | ${fmt(x.cpuPerRequestUs, 1)} | ${variant === 'bare' ? '' : fmt(x.addedCpuOverBareUs, 1)} | ${variant === 'bare' || variant === 'floor' ? '' : fmt(x.addedCpuOverFloorUs, 1)} | ${fmt(x.p99Ms, 2)} | ${tracked} | ${x.errors} |`;
}

/** The human table: `bench/RESULTS.md`. */
export function renderResults(r: BenchResults): string {
  const m = r.machine;
  const rows = targetRows(r);
  const lines: string[] = [];
  const push = (...xs: string[]) => lines.push(...xs);
  const maxLoad = Math.max(...Object.values(r.sections).map((s) => s?.loadAverage ?? 0));

  push(
    '# anon benchmarks',
    '',
    `Written by \`pnpm bench${r.mode === 'quick' ? ' --quick' : ''}\` on ${m.date.slice(0, 10)} (${r.mode} run, ${r.totalSeconds} s). Figures for the record, never assertions: a short figure is explained, not failed. How each figure is measured: [docs/benchmarks.md](../docs/benchmarks.md). Raw figures: [results/latest.json](./results/latest.json).`,
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| cores | ${m.cores} |`,
    `| CPU | ${cell(m.cpuModel)} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${cell(m.os)} |`,
    `| Node | ${m.node} |`,
    `| Redis | ${m.redis ?? 'unreachable: Redis figures skipped'} |`,
    `| Postgres | ${m.postgres ?? 'unreachable: Postgres figures skipped'} |`,
    `| libraries | ${Object.entries(m.libraries)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
    `| commit | ${m.commit ?? '—'} |`,
    `| date | ${m.date} |`,
    `| highest 1-min load average at a section's end | ${maxLoad.toFixed(2)}${maxLoad > m.cores ? ' (more runnable processes than cores: other work ran beside the bench, figures are low)' : ''} |`,
    '',
    '## Against the targets (issue 12)',
    '',
    '| figure | target | measured | status | by how much, and what bears on it |',
    '|---|---|---|---|---|',
    ...rows.map(
      (x) => `| ${cell(x.figure)} | ${x.target} | ${cell(x.measured)} | ${x.status} | ${cell(x.note)} |`,
    ),
    '',
  );

  const o = r.overhead;
  push('## 1. Per-request overhead', '');
  if (o === undefined)
    push(`Not run${r.sections.overhead?.error ? `: ${r.sections.overhead.error}` : ''}.`, '');
  else {
    push(
      `Hello-world HTML route, ${o.connections} connections from autocannon in the bench process on 127.0.0.1, ${o.userAgents} browser user agents in turn. Four servers per framework, each its own process: **bare**, **floor** (a capture-only middleware: \`{method, url, headers, ip, status, time}\` pushed onto an array drained every 10 ms), **memory** (anon on the memory hot store) and **redis** (anon on the Redis hot store); the tracked servers drain their queue with an in-process worker into a null store. ${o.rounds} interleaved rounds of ${o.secondsPerRun} s per server, the order flipped each round. Figures are medians over rounds; ratios and CPU differences are taken against bare and the floor of the same round. CPU is the server process's \`process.cpuUsage()\` (user + system) per response, read once the background work of the round settled.`,
      '',
      '| framework | variant | req/s | ÷ bare | ÷ floor | CPU µs/req | + over bare | + over floor | p99 ms | tracked / served | errors |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const framework of FRAMEWORKS) {
      const f = o.frameworks[framework];
      if (f === undefined) continue;
      for (const variant of VARIANTS) if (f[variant]) push(variantLine(framework, variant, f[variant]));
    }
    push(
      '',
      `Request path: each synchronous \`track()\` call the binding makes, timed with \`performance.now()\` in the memory server under the same load, in a run of its own after the rounds (${o.probeSeconds} s):`,
      '',
      '| framework | calls | mean µs | p50 µs | p99 µs | max µs |',
      '|---|---|---|---|---|---|',
    );
    for (const framework of FRAMEWORKS) {
      const t = o.frameworks[framework]?.memory.requestPath;
      push(
        t
          ? `| ${label(framework)} | ${fmt(t.calls)} | ${fmt(t.meanUs, 2)} | ${fmt(t.p50Us, 2)} | ${fmt(t.p99Us, 2)} | ${fmt(t.maxUs, 0)} |`
          : `| ${label(framework)} | not measured | | | | |`,
      );
    }
    push(
      '',
      'Redis, per tracked view (Redis variant): commands the app sent, script calls and all calls the server counted (`INFO commandstats`), and Redis server CPU (`INFO cpu`).',
      '',
      '| framework | hot store batch form | client commands / view | server script calls / view | server calls / view | server CPU µs / view |',
      '|---|---|---|---|---|---|',
    );
    for (const framework of FRAMEWORKS) {
      const x = o.frameworks[framework]?.redis;
      const v = x?.redisPerView;
      push(
        v
          ? `| ${label(framework)} | ${x?.batchForm ?? '—'} | ${fmt(v.clientCommands, 3)} | ${fmt(v.serverScriptCalls, 3)} | ${fmt(v.serverCalls, 3)} | ${fmt(v.serverCpuUs, 1)} |`
          : `| ${label(framework)} | ${cell(x?.skipped ?? 'not measured')} | | | | |`,
      );
    }
    if (o.redisServerShared)
      push(
        '',
        'The Redis server counted more script calls than the tracked servers sent: another client used it during the runs, so the server-side columns are high.',
      );
    push('');
  }

  const c = r.cpu;
  push('## 2. CPU per tracked request', '');
  if (c === undefined) push(`Not run${r.sections.cpu?.error ? `: ${r.sections.cpu.error}` : ''}.`, '');
  else {
    const s = c.hostile.stream;
    push(
      '| measure | p50 µs | p99 µs | samples |',
      '|---|---|---|---|',
      `| track(), warm UA | ${fmt(c.warm.p50Us, 2)} | ${fmt(c.warm.p99Us, 2)} | ${fmt(c.warm.samples)} |`,
      `| track(), cold UA | ${fmt(c.cold.p50Us, 2)} | ${fmt(c.cold.p99Us, 2)} | ${fmt(c.cold.samples)} |`,
      `| normalize() alone, warm | ${fmt(c.normalizeWarm.p50Us, 2)} | ${fmt(c.normalizeWarm.p99Us, 2)} | ${fmt(c.normalizeWarm.samples)} |`,
      '',
      `Whole-process CPU per tracked request, the batch behind it included (visitor key, memory hot store, events, the worker's hand-off to a null store): **${fmt(c.processCpuPerTrackUs, 1)} µs** warm, ${fmt(c.processCpuPerTrackColdUs, 1)} µs with a new user agent every request, ${fmt(c.processCpuPerTrackWebCryptoUs, 1)} µs warm with \`webCryptoHasher()\` alone (no synchronous HMAC).`,
      '',
      `Hostile user agents (${c.hostile.agents}: ReDoS shapes of ua-parser-js's past advisories and of uap-core's ReDoS corpus, 500 to 16,000 characters), one by one, each unique: worst single \`track()\` **${fmt(c.hostile.worstUs)} µs** (${cell(c.hostile.worstAgent)}), median ${fmt(c.hostile.medianUs)} µs. Slowest shapes: ${c.hostile.slowest
        .slice(0, 5)
        .map((x) => `${cell(x.agent)} ${fmt(x.us)} µs (median ${fmt(x.medianUs)})`)
        .join('; ')}.`,
      '',
      s
        ? `As a stream of unique hostile agents, ${fmt(s.viewsPerSecond)} views/s for ${fmt(s.seconds, 1)} s: worst single \`track()\` **${fmt(s.worstTrackUs)} µs**; event-loop lag (\`monitorEventLoopDelay\`) p50 ${fmt(s.lagP50Ms, 2)} ms, **p99 ${fmt(s.lagP99Ms, 2)} ms**, max ${fmt(s.lagMaxMs, 2)} ms.`
        : '',
      '',
    );
  }

  const h = r.hotStore;
  push('## 3. Redis hot store', '');
  if (h === undefined)
    push(`Not run${r.sections['hot-store']?.error ? `: ${r.sections['hot-store'].error}` : ''}.`, '');
  else if (h.skipped) push(`Skipped: ${h.skipped}.`, '');
  else {
    push(
      'The Redis hot store alone against real Redis over one auto-pipelined ioredis connection; visitors seen several times, so sessions continue. Server columns come from `INFO commandstats` and `INFO cpu` (every client of the server counts).',
      '',
      '| call | views per call | in flight | views/s | p50 ms per call | p99 ms per call | client commands / view | server script calls / view | server calls / view | server CPU µs / view | failures |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, x] of [
      [
        `recordPageViews (${h.batchForm === 'looped' ? 'looped by the bench: the store has no batch form yet' : "the store's own"})`,
        h.batched,
      ],
      ['recordPageView', h.single],
    ] as const) {
      if (x === undefined) continue;
      push(
        `| ${name} | ${x.viewsPerCall} | ${x.concurrency} | ${fmt(x.viewsPerSecond)} | ${fmt(x.p50Ms, 2)} | ${fmt(x.p99Ms, 2)} | ${fmt(x.commandsPerView, 3)} | ${fmt(x.serverScriptCallsPerView, 3)} | ${fmt(x.serverCallsPerView, 2)} | ${fmt(x.serverCpuPerViewUs, 1)} | ${x.failures}${x.firstFailure ? ` (${cell(x.firstFailure)})` : ''} |`,
      );
    }
    push('');
  }

  push('## 4. Ingest', '');
  if (r.ingest === undefined)
    push(`Not run${r.sections.ingest?.error ? `: ${r.sections.ingest.error}` : ''}.`, '');
  else {
    push(
      "In-process queue (core's `memoryQueue`) into `postgresStore` (default `staging: 'copy'`): each page view brings what `track()` enqueues (the view, the previous view's time on page, session summaries on the cadence and at the end), written with sessions, unique visitors and daily aggregates. *Sustained*: a bounded backlog always waiting. *Paced*: a steady 70 % of the sustained rate. CPU per committed page view: the writing process (`process.cpuUsage()` minus the producer's own synchronous runs), the producer, and the Postgres backends serving the consumers (`/proc/<pid>/stat`; PGlite runs inside the writing process). Lag is sampled on one view in eight.",
      '',
      '| store | consumers | batch ≤ events / wait ms | sustained views/s | events/s | events/batch | lag p50 ms | lag p99 ms | worker µs/view | producer µs/view | Postgres µs/view | paced views/s | paced lag p50 ms | paced lag p99 ms | rows after |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, x] of [
      ['Postgres', r.ingest.postgres],
      ['PGlite', r.ingest.pglite],
    ] as const) {
      if (x.skipped || !x.sustained || !x.paced) {
        push(`| ${name} | skipped: ${cell(x.skipped ?? '?')} | | | | | | | | | | | | | |`);
        continue;
      }
      const st = x.stored;
      const cpu = x.sustained.cpu;
      push(
        `| ${name} | ${x.consumers} | ${fmt(x.batchSize)} / ${fmt(x.flushIntervalMs)} | ${fmt(x.sustained.viewsPerSecond)} (${fmt(x.sustained.seconds)} s) | ${fmt(x.sustained.eventsPerSecond)} | ${fmt(x.sustained.eventsPerBatch)} | ${fmt(x.sustained.lagP50Ms, 1)} | ${fmt(x.sustained.lagP99Ms, 1)} | ${fmt(cpu?.workerUsPerView, 1)} | ${fmt(cpu?.producerUsPerView, 1)} | ${name === 'PGlite' ? '(in the worker)' : fmt(cpu?.serverUsPerView, 1)} | ${fmt(x.paced.viewsPerSecond)} | ${fmt(x.paced.lagP50Ms, 1)} | ${fmt(x.paced.lagP99Ms, 1)} | ${st ? `${fmt(st.pageViews)} views, ${fmt(st.sessions)} sessions, ${fmt(st.uniqueVisitorRows)} uniques, aggregates count ${fmt(st.aggregateViews)} views` : '—'} |`,
      );
    }
    push('');
  }

  const mem = r.memory;
  push('## 5. Memory', '');
  if (mem === undefined)
    push(`Not run${r.sections.memory?.error ? `: ${r.sections.memory.error}` : ''}.`, '');
  else
    push(
      `${fmt(mem.visitors)} active visitors, ${mem.viewsPerVisitor} page views each (one live session, rate counter and real-time entries per visitor):`,
      '',
      `- memory hot store: **${fmt(mem.memoryHotStoreBytesPerVisitor)} bytes of V8 heap per active visitor** (heap used after a full GC, before and after);`,
      mem.redisBytesPerVisitor === null
        ? `- Redis hot store: skipped (${mem.redisSkipped ?? '?'}).`
        : `- Redis hot store: **${fmt(mem.redisBytesPerVisitor)} bytes of Redis memory per active visitor** (\`MEMORY USAGE\` summed over the run's keys), ${fmt(mem.redisKeysPerVisitor, 2)} keys per visitor.`,
      '',
    );

  push('## Why, where a target is missed', '');
  const missed = rows.filter((x) => x.status !== 'met');
  if (missed.length === 0) push('Every target was met in this run.', '');
  else if (existsSync(SHORTFALLS)) push(readFileSync(SHORTFALLS, 'utf8').trim(), '');
  else
    push(
      `${missed.length} figure(s) missed or not measured (the table says by how much). The explanation from a CPU profile goes in \`bench/SHORTFALLS.md\`, which this section includes; take the profile with \`pnpm bench --profile=<framework>\` and read it with \`bench/profile-top.ts\` (docs/benchmarks.md).`,
      '',
    );
  return lines.join('\n');
}
