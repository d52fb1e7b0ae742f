import type { BenchResults } from './run.js';
import { FRAMEWORKS, type Framework } from './variants.js';

/** The bar the issue sets; figures for the record, never assertions. */
export const TARGETS = {
  memoryRatio: 0.92,
  redisRatio: 0.85,
  warmP50Us: 4,
  coldP50Us: 30,
  hostileWorstUs: 1_000,
  postgresViewsPerSecond: 50_000,
} as const;

type Status = 'met' | 'not met' | 'not measured';

interface Row {
  figure: string;
  measured: string;
  target: string;
  status: Status;
  /** Why, when not met or not measured: one line built from what the run measured. */
  reason: string;
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function status(value: number | null | undefined, ok: (v: number) => boolean): Status {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'not measured';
  return ok(value) ? 'met' : 'not met';
}

/** CPU time per request a framework can give anon at its bare speed before throughput falls below `ratio`. */
function budgetUs(bareRps: number, ratio: number): number {
  return (1 / ratio - 1) * (1e6 / bareRps);
}

function overheadRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const o = r.overhead;
  const cpu = r.cpu?.processCpuPerTrackUs;
  for (const framework of FRAMEWORKS) {
    const f = o?.frameworks[framework];
    for (const [variant, target] of [
      ['memory', TARGETS.memoryRatio],
      ['redis', TARGETS.redisRatio],
    ] as const) {
      const x = f?.[variant];
      const bare = f?.bare.rps ?? null;
      const s = status(x?.ratioToBare, (v) => v >= target);
      let reason = '';
      if (s === 'not measured')
        reason = x?.skipped ?? f?.bare.skipped ?? r.sections.overhead?.error ?? 'section not run';
      else if (s === 'not met' && bare !== null && x?.rps) {
        const added = 1e6 / x.rps - 1e6 / bare;
        reason =
          `anon added ${fmt(added, 1)} µs of server time per request; at ${fmt(bare)} rps bare the budget for ×${target} is ${fmt(budgetUs(bare, target), 1)} µs` +
          (cpu !== undefined
            ? ` (track() and its background work cost ${fmt(cpu, 1)} µs of CPU per view in section 2, ${fmt(r.cpu?.processCpuPerTrackNodeHmacUs, 1)} µs with a node:crypto hasher)`
            : '') +
          (variant === 'redis'
            ? '; the Redis server shares the 2 cores with the app and the load generator'
            : '');
      }
      rows.push({
        figure: `${label(framework)} + ${variant} hot store, throughput ÷ bare`,
        measured: x?.ratioToBare === null || x?.ratioToBare === undefined ? '—' : `×${fmt(x.ratioToBare, 3)}`,
        target: `≥ ${target}`,
        status: s,
        reason,
      });
    }
  }
  return rows;
}

function cpuRows(r: BenchResults): Row[] {
  const c = r.cpu;
  const missing = r.sections.cpu?.error ?? 'section not run';
  const warm = status(c?.warm.p50Us, (v) => v <= TARGETS.warmP50Us);
  const cold = status(c?.cold.p50Us, (v) => v <= TARGETS.coldP50Us);
  const hostile = status(c?.hostile.worstUs, (v) => v <= TARGETS.hostileWorstUs);
  return [
    {
      figure: 'track() CPU, warm UA cache, p50',
      measured: c ? `${fmt(c.warm.p50Us, 2)} µs (p99 ${fmt(c.warm.p99Us, 2)})` : '—',
      target: `≤ ${TARGETS.warmP50Us} µs`,
      status: warm,
      reason:
        warm === 'not met' && c
          ? `normalize() alone takes ${fmt(c.normalizeWarm.p50Us, 2)} µs at p50 (URL, query allowlist, referrer, headers, UA cache); the rest is the view id, the draft and scheduling the background task`
          : warm === 'not measured'
            ? missing
            : '',
    },
    {
      figure: 'track() CPU, cold UA cache, p50',
      measured: c ? `${fmt(c.cold.p50Us, 2)} µs (p99 ${fmt(c.cold.p99Us, 2)})` : '—',
      target: `≤ ${TARGETS.coldP50Us} µs`,
      status: cold,
      reason:
        cold === 'not met' && c
          ? `a new user agent costs ${fmt(c.cold.p50Us - c.warm.p50Us, 1)} µs more than a cached one: ua-parser-js 1.x runs its regex lists and isbot its pattern`
          : cold === 'not measured'
            ? missing
            : '',
    },
    {
      figure: 'worst single track() on hostile user agents',
      measured: c ? `${fmt(c.hostile.worstUs, 0)} µs` : '—',
      target: `≤ ${fmt(TARGETS.hostileWorstUs)} µs`,
      status: hostile,
      reason:
        hostile === 'not met' && c
          ? `slowest: ${c.hostile.worstAgent}, while the median hostile call took ${fmt(c.hostile.medianUs, 0)} µs (user agents are cut to 500 characters before parsing, so the cost is bounded, not gone)`
          : hostile === 'not measured'
            ? missing
            : '',
    },
  ];
}

function ingestRows(r: BenchResults): Row[] {
  const p = r.ingest?.postgres;
  const s = status(p?.sustained?.viewsPerSecond, (v) => v >= TARGETS.postgresViewsPerSecond);
  let reason = '';
  if (s === 'not measured') reason = p?.skipped ?? r.sections.ingest?.error ?? 'section not run';
  else if (s === 'not met' && p?.sustained) {
    const perView = p.sustained.eventsPerSecond / Math.max(1, p.sustained.viewsPerSecond);
    reason = `${fmt(p.sustained.eventsPerSecond)} events/s (${fmt(perView, 1)} per page view: the view, time on page, session summaries) in ${p.batchSize}-event transactions from ${p.consumers} consumers; Postgres and the producer share 2 cores`;
  }
  return [
    {
      figure: 'ingest into the local Postgres, sustained',
      measured: p?.sustained ? `${fmt(p.sustained.viewsPerSecond)} page views/s` : '—',
      target: `≥ ${fmt(TARGETS.postgresViewsPerSecond)}/s`,
      status: s,
      reason,
    },
  ];
}

function label(framework: Framework): string {
  return framework[0]!.toUpperCase() + framework.slice(1);
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The human table: `bench/RESULTS.md`. */
export function renderResults(r: BenchResults): string {
  const m = r.machine;
  const rows = [...overheadRows(r), ...cpuRows(r), ...ingestRows(r)];
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
    '## Against the bar',
    '',
    '| figure | measured | target | status | why, where not met |',
    '|---|---|---|---|---|',
    ...rows.map(
      (x) => `| ${cell(x.figure)} | ${cell(x.measured)} | ${x.target} | ${x.status} | ${cell(x.reason)} |`,
    ),
    '',
  );

  const o = r.overhead;
  push('## 1. Per-request overhead', '');
  if (o === undefined)
    push(`Not run${r.sections.overhead?.error ? `: ${r.sections.overhead.error}` : ''}.`, '');
  else {
    push(
      `Hello-world HTML route, ${o.connections} connections from autocannon in a separate process on 127.0.0.1, ${o.userAgents} browser user agents in turn; ${o.rounds} rounds of ${o.secondsPerRun} s per variant, the order flipped each round (A/B/C, C/B/A …). Requests per second are the median over rounds; the ratio is the median of each round's variant ÷ bare.`,
      '',
      '| framework | variant | req/s | ratio to bare | p50 ms | p99 ms | tracked / served | errors |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const framework of FRAMEWORKS) {
      const f = o.frameworks[framework];
      if (f === undefined) continue;
      for (const variant of ['bare', 'memory', 'redis'] as const) {
        const x = f[variant];
        if (x.rps === null) {
          push(`| ${label(framework)} | ${variant} | skipped: ${cell(x.skipped ?? '?')} | | | | | |`);
          continue;
        }
        const tracked = x.stats === null ? '—' : `${fmt(x.stats.tracked)} / ${fmt(x.responses)}`;
        push(
          `| ${label(framework)} | ${variant} | ${fmt(x.rps)} | ${variant === 'bare' ? '1' : `×${fmt(x.ratioToBare, 3)}`} | ${fmt(x.p50Ms, 2)} | ${fmt(x.p99Ms, 2)} | ${tracked} | ${x.errors} |`,
        );
      }
    }
    push('');
  }

  const c = r.cpu;
  push('## 2. CPU per tracked request', '');
  if (c === undefined) push(`Not run${r.sections.cpu?.error ? `: ${r.sections.cpu.error}` : ''}.`, '');
  else {
    push(
      '| measure | p50 µs | p99 µs | samples |',
      '|---|---|---|---|',
      `| track(), warm UA cache | ${fmt(c.warm.p50Us, 2)} | ${fmt(c.warm.p99Us, 2)} | ${fmt(c.warm.samples)} |`,
      `| track(), cold UA cache | ${fmt(c.cold.p50Us, 2)} | ${fmt(c.cold.p99Us, 2)} | ${fmt(c.cold.samples)} |`,
      `| normalize() alone, warm | ${fmt(c.normalizeWarm.p50Us, 2)} | ${fmt(c.normalizeWarm.p99Us, 2)} | ${fmt(c.normalizeWarm.samples)} |`,
      '',
      `Whole-process CPU per tracked request, background recording included (visitor-key HMAC, memory hot store, events): **${fmt(c.processCpuPerTrackUs, 1)} µs** with core's Web Crypto hasher, ${fmt(c.processCpuPerTrackNodeHmacUs, 1)} µs with a \`node:crypto\` HMAC injected as \`hasher\`.`,
      '',
      `Hostile user agents (${c.hostile.agents}: ReDoS shapes of ua-parser-js's past advisories and of uap-core's ReDoS corpus, 500 to 16,000 characters), each parsed cold: worst single \`track()\` **${fmt(c.hostile.worstUs)} µs** (${cell(c.hostile.worstAgent)}), median of all hostile calls ${fmt(c.hostile.medianUs)} µs. Slowest shapes: ${c.hostile.slowest
        .slice(0, 5)
        .map((s) => `${cell(s.agent)} ${fmt(s.us)} µs (median ${fmt(s.medianUs)})`)
        .join('; ')}.`,
      '',
    );
  }

  const h = r.hotStore;
  push('## 3. Redis hot store', '');
  if (h === undefined)
    push(`Not run${r.sections['hot-store']?.error ? `: ${r.sections['hot-store'].error}` : ''}.`, '');
  else if (h.skipped) push(`Skipped: ${h.skipped}.`, '');
  else
    push(
      `\`recordPageView\` against real Redis over one auto-pipelined ioredis connection, ${h.concurrency} calls in flight: **${fmt(h.viewsPerSecond)} page views/s**, latency p50 ${fmt(h.p50Ms, 2)} ms, p99 ${fmt(h.p99Ms, 2)} ms. **${fmt(h.commandsPerView, 2)} Redis commands (round trips) per page view** (${Object.entries(
        h.commands ?? {},
      )
        .map(([k, v]) => `${k} × ${fmt(v)}`)
        .join(', ')}); ${h.failures ?? 0} failures.`,
      '',
    );

  push('## 4. Ingest', '');
  if (r.ingest === undefined)
    push(`Not run${r.sections.ingest?.error ? `: ${r.sections.ingest.error}` : ''}.`, '');
  else {
    push(
      "In-process queue (core's `memoryQueue`) into `postgresStore`: each page view brings what `track()` enqueues (the view, the previous view's time on page, session summaries on the cadence and at the end), written with sessions, unique visitors and daily aggregates. *Sustained*: a bounded backlog always waiting. *Paced*: a steady 70 % of the sustained rate.",
      '',
      '| store | consumers | sustained views/s | events/s | lag p50 ms | lag p99 ms | paced views/s | paced lag p50 ms | paced lag p99 ms | rows after |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, x] of [
      ['Postgres', r.ingest.postgres],
      ['PGlite', r.ingest.pglite],
    ] as const) {
      if (x.skipped || !x.sustained || !x.paced) {
        push(`| ${name} | skipped: ${cell(x.skipped ?? '?')} | | | | | | | | |`);
        continue;
      }
      const st = x.stored;
      push(
        `| ${name} | ${x.consumers} | ${fmt(x.sustained.viewsPerSecond)} (${fmt(x.sustained.seconds)} s) | ${fmt(x.sustained.eventsPerSecond)} | ${fmt(x.sustained.lagP50Ms, 1)} | ${fmt(x.sustained.lagP99Ms, 1)} | ${fmt(x.paced.viewsPerSecond)} | ${fmt(x.paced.lagP50Ms, 1)} | ${fmt(x.paced.lagP99Ms, 1)} | ${st ? `${fmt(st.pageViews)} views, ${fmt(st.sessions)} sessions, ${fmt(st.uniqueVisitorRows)} uniques, aggregates count ${fmt(st.aggregateViews)} views` : '—'} |`,
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

  push('## Closing note', '', ...closingNote(rows), '');
  return lines.join('\n');
}

/** What each unmet target would need, kept next to the figures it explains. */
function closingNote(rows: Row[]): string[] {
  const unmet = rows.filter((x) => x.status === 'not met');
  const missing = rows.filter((x) => x.status === 'not measured');
  const out: string[] = [];
  if (unmet.length === 0 && missing.length === 0) out.push('Every target was met in this run.');
  if (unmet.some((x) => x.figure.includes('throughput'))) {
    out.push(
      "- **Throughput ratios.** A hello-world route does almost no work, so the CPU anon adds per request (section 2: the sync `track()` plus its background recording; the gap between section 2's two whole-process figures is what the Web Crypto visitor-key HMAC costs) is a large share of it; the ratio is that added time against the framework's own time per request. What would close it: less CPU per view on the app's core — a `node:crypto` HMAC instead of Web Crypto's asynchronous `subtle.sign` (section 2 shows the difference), a per-salt cache of visitor keys for returning visitors, fewer object copies between the view draft and its events. Real routes that render or query take far longer than a hello-world, and the same microseconds are a much smaller fraction there.",
    );
  }
  if (unmet.some((x) => x.figure.startsWith('track() CPU, warm'))) {
    out.push(
      '- **Warm `track()`.** Section 2 splits it: `normalize()` (URL and query, referrer, header reads, the UA cache lookup), then the UUIDv7 view id, the view draft and the promises that schedule the background recording. What would close it: a single pass over the target instead of URL splitting plus a query parse, skipping the referrer parse when the header is absent, and fewer allocations between the draft and the background task.',
    );
  }
  if (unmet.some((x) => x.figure.startsWith('track() CPU, cold'))) {
    out.push(
      '- **Cold `track()`.** ua-parser-js 1.x tries its regex lists in order on every new user agent. What would close it: a bigger UA cache (`uaCacheSize`) so the cold path is rare, or a cheaper first pass for the common browsers before the full parser.',
    );
  }
  if (unmet.some((x) => x.figure.startsWith('worst single'))) {
    out.push(
      '- **Hostile user agents.** User agents are cut to 500 characters before ua-parser-js and isbot see them, which bounds the cost; what remains is the regexes on those 500 characters. What would close it: a lower cut (browser user agents are typically 100 to 250 characters) or a pre-check that refuses UAs with long runs of one character before parsing.',
    );
  }
  if (unmet.some((x) => x.figure.startsWith('ingest'))) {
    out.push(
      "- **Ingest.** Each page view is about two events (the view, the previous view's time on page, session summaries), and each batch is one transaction: one statement inserts views, unique visitors and metrics and folds them into the aggregate rows, then the batch's sessions are locked, merged and upserted; Postgres, the producer and the worker share 2 cores here. What would close it: larger batches (fewer transactions and round trips), `COPY` into staging tables instead of `unnest` parameters, merging sessions in SQL rather than read-merge-write, and a Postgres on cores of its own.",
    );
  }
  for (const x of missing) out.push(`- **${x.figure}**: not measured — ${x.reason}.`);
  return out;
}
