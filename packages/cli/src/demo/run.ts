import { parseArgs } from 'node:util';
import { createTracker, dayOf } from '@anon/core';
import { memoryHotStore, memoryQueue } from '@anon/core/memory';
import { postgresStore } from '@anon/postgres';
import { PGlite } from '@electric-sql/pglite';
import { serve } from '@hono/node-server';
import { runReport } from '../commands/report.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../main.js';
import { loadOptional, OPTIONAL } from '../optional-packages.js';
import { UsageError } from '../usage-error.js';
import { demoApp } from './app.js';
import { demoTraffic } from './traffic.js';

export interface DemoOptions {
  visitors: number;
  durationMs: number;
  seed: number;
  /** Keep serving afterwards. */
  serve: boolean;
  port: number;
}

/** `anon demo`: parse flags, run, print. */
export async function demoCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      visitors: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      serve: { type: 'boolean' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const int = (text: string | undefined, flag: string, fallback: number, min: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`${flag} takes a whole number from ${min} to ${max}`);
    return n;
  };
  return runDemo(
    {
      visitors: int(values.visitors, '--visitors', 400, 1, 20_000),
      durationMs: values.duration ? parseDuration(values.duration, '--duration') : 86_400_000,
      seed: int(values.seed, '--seed', 42, 0, 2 ** 31),
      serve: values.serve ?? false,
      port: int(values.port, '--port', 0, 0, 65_535),
    },
    io,
  );
}

/**
 * Start the demo app on the memory hot store and PGlite, drive simulated traffic through it over real HTTP with
 * a simulated clock (a day of traffic in seconds), finalize the sessions, and print every report.
 */
export async function runDemo(opts: DemoOptions, io: Io): Promise<number> {
  const started = Date.now();
  const db = new PGlite();
  const store = postgresStore(db);
  await store.migrate();
  // The tracker reads this clock; the driver moves it to each simulated request's time.
  const start = Date.UTC(2026, 10, 23, 6, 0, 0);
  let simNow = start;
  const clock = { now: () => simNow };
  const tracker = createTracker({
    site: 'demo',
    hot: memoryHotStore(),
    queue: memoryQueue(),
    store,
    clock,
    sweeper: false,
    logger: { warn: (m) => io.err(`[anon] ${m}`), error: (m) => io.err(`[anon] ${m}`) },
  });
  const app = demoApp(tracker);
  if (opts.serve) {
    // The dashboard of the same store, on the app's own server: under /_anon/, which is never tracked.
    const { createDashboard } = await loadOptional(OPTIONAL.dashboard, () => import('@anon/dashboard'));
    const dashboard = createDashboard({ store, tracker, basePath: DASHBOARD_PATH });
    app.all(`${DASHBOARD_PATH}/*`, (c) => dashboard(c.req.raw, { remoteAddress: remoteAddressOf(c.env) }));
    app.all(DASHBOARD_PATH, (c) => dashboard(c.req.raw, { remoteAddress: remoteAddressOf(c.env) }));
  }
  const server = serve({ fetch: app.fetch, port: opts.serve ? opts.port : 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;

  const traffic = demoTraffic({
    visitors: opts.visitors,
    durationMs: opts.durationMs,
    seed: opts.seed,
    start,
  });
  io.out(
    `anon demo: ${opts.visitors} visitors, ${traffic.length} requests over ${Math.round(opts.durationMs / 3_600_000)} simulated hours → ${base}`,
  );
  const pendingBeacon = new Map<
    number,
    { viewId: string; ms: number; scroll: number; headers: Record<string, string> }
  >();
  let done = 0;
  let lastTick = 0;
  let failures = 0;
  for (const req of traffic) {
    const beacon = pendingBeacon.get(req.visitor);
    if (beacon) {
      pendingBeacon.delete(req.visitor);
      simNow = Math.max(simNow, req.at - 1);
      await post(
        `${base}/_anon/e`,
        { t: 'e', v: beacon.viewId, ms: beacon.ms, sd: beacon.scroll },
        beacon.headers,
      );
    }
    simNow = req.at;
    const seen = decided(tracker);
    try {
      const res = await fetch(base + req.path, {
        method: req.method,
        headers: req.headers,
        redirect: 'manual',
        ...(req.body ? { body: req.body } : {}),
      });
      const html = await res.text();
      const viewId = /<meta name="anon-view" content="([^"]*)"/.exec(html)?.[1];
      if (viewId && req.engage) {
        pendingBeacon.set(req.visitor, { viewId, ...req.engage, headers: req.headers });
      }
      // The binding tracks on the response's 'finish', which can come a moment after the body reached us:
      // wait for it, so the next request (a beacon for this view) finds the view recorded. Same seed, same report.
      for (let i = 0; i < 1_000 && decided(tracker) === seen; i++) await new Promise((r) => setImmediate(r));
    } catch {
      failures++;
    }
    done++;
    const pct = Math.floor((done / traffic.length) * 10);
    if (pct > lastTick) {
      lastTick = pct;
      const bar = `  ${'▮'.repeat(pct)}${'▯'.repeat(10 - pct)} ${done}/${traffic.length} requests`;
      if (io.progress) io.progress(bar);
      else io.out(bar);
    }
  }
  if (io.progress) io.out('');
  for (const [, b] of pendingBeacon) {
    await post(`${base}/_anon/e`, { t: 'e', v: b.viewId, ms: b.ms, sd: b.scroll }, b.headers);
  }
  await tracker.flush();
  const active = await tracker.activeVisitors();
  // Let every session go idle, then finalize them all, as the sweeper would.
  simNow = (traffic.at(-1)?.at ?? start) + tracker.config.sessionTimeoutMs + 60_000;
  await tracker.sweep();
  await tracker.flush();
  // Every session of the run: those the sweep ended and those a returning visitor's new session ended before it.
  const finalized = tracker.stats().finalized;

  const from = dayOf(start, 'UTC');
  const to = dayOf(simNow, 'UTC');
  const q = { from, to, limit: 10 };
  const section = async (title: string, name: Parameters<typeof runReport>[1], steps: string[] = []) => {
    const r = await runReport(store, name, q, steps);
    io.out(`\n■ ${title}\n${r.text}`);
  };
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  io.out(
    `\nanon report · ${from} → ${to} (the simulated days of traffic, UTC) · ${plural(finalized, 'session', 'sessions')} ` +
      `finalized, bots included · ${plural(active.total, 'visitor was', 'visitors were')} active in the last 5 minutes of traffic`,
  );
  await section(
    'Overview (visitors are unique per day: keys of different days cannot be linked)',
    'overview',
  );
  await section('Top pages (bots excluded)', 'pages');
  await section('Sessions', 'sessions');
  await section('Conversions: anonymous visitors who signed up', 'conversions');
  await section('Funnel', 'funnel', ['/', '/pricing', '/signup']);
  await section('Entry pages', 'entry');
  await section('Exit pages', 'exit');
  await section('Top journeys', 'journeys');
  await section('Referrers', 'referrers');
  await section('Campaigns', 'campaigns');
  await section('Devices', 'devices');
  await section('Bots, kept apart', 'bots');
  const stats = tracker.stats();
  const reasons = Object.entries(stats.skippedBy)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  io.out(
    `\n${stats.tracked} page views tracked, ${stats.bots} by bots; ${stats.skipped} requests not counted` +
      `${reasons === '' ? '' : ` (by reason: ${reasons})`}; ${stats.dropped} dropped, ${stats.failures + failures} failures · ` +
      `${((Date.now() - started) / 1000).toFixed(1)}s`,
  );

  if (opts.serve) {
    io.out(`\nserving the demo app at ${base} — Ctrl-C to stop`);
    io.out(`dashboard: ${base}${DASHBOARD_PATH}/?from=${from}&to=${to}`);
    simNow = Date.now();
    clock.now = () => Date.now();
    await (io.stopSignal ?? new Promise<void>(() => undefined));
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tracker.close();
  await db.close();
  return stats.failures + failures === 0 ? 0 : 1;
}

/** Where `--serve` mounts the dashboard. */
const DASHBOARD_PATH = '/_anon/dashboard';

/** The client address @hono/node-server exposes on the context's env, for the dashboard's loopback check. */
function remoteAddressOf(env: unknown): string | null {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}

/** Requests the tracker has decided on (tracked or not). */
function decided(tracker: { stats(): { tracked: number; skipped: number } }): number {
  const s = tracker.stats();
  return s.tracked + s.skipped;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<void> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': headers['user-agent'] ?? '',
        'x-forwarded-for': headers['x-forwarded-for'] ?? '',
      },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
  } catch {
    // A lost beacon is a lost measurement, not a failure of the demo.
  }
}
