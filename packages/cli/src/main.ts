import { parseArgs } from 'node:util';
import { type ActiveVisitors, AnonError, isAnonError, type ReportQuery } from '@anon/core';
import { version } from '../package.json';
import { FUNNEL_USAGE, isReportName, REPORTS, runReport } from './commands/report.js';
import { ConnectError, connect, connectRedis } from './connect.js';
import { parseDay, parseDuration } from './duration.js';
import { loadOptional, MissingPackageError, OPTIONAL } from './optional-packages.js';
import { masker, secretsOf } from './secrets.js';
import { STORE_FLAGS, STORE_HELP, storeFlags } from './store-flags.js';
import { UsageError } from './usage-error.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** A progress line to redraw in place (a terminal); absent, progress is printed with `out`, a line each. */
  progress?(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); the worker waits on it. */
  stopSignal?: Promise<void>;
}

const HELP: Record<string, string> = {
  main: `anon — privacy-first analytics in your own database

Usage: anon <command> [options]

Commands:
  migrate             apply migrations (Postgres) or ensure indexes (MongoDB)
  report <name>       ${REPORTS.join(' | ')}
  worker              drain the Redis queue into the store and finalize idle sessions, until SIGTERM
  purge               delete anonymous sessions and page views past retention
  erase --user ID     delete one user's sessions, page views, metrics and conversion (GDPR erasure)
  dashboard           serve the dashboard for a store on 127.0.0.1, until SIGTERM
  demo                run a demo app, drive traffic through it, print the report

Options:
  -h, --help          this help; 'anon <command> --help' for a command's options
  -v, --version       print the version of @anon/cli

Only migrate and worker create a database, schema or table; the other commands refuse a missing one. No
command prints a password: URLs are shown as redis://:***@host.

The drivers are optional peer dependencies: a command loads the one it needs (pg, @electric-sql/pglite,
mongodb, ioredis) with its anon adapter from your project, and says what to install when one is missing.`,
  migrate: `Usage: anon migrate [store options]\n\n${STORE_HELP}`,
  report: `Usage: anon report <${REPORTS.join('|')}> [steps…] [options]

  --from YYYY-MM-DD   first day (default: 6 days before --to)
  --to YYYY-MM-DD     last day (default: today, UTC)
  --path PATTERN      exact path or pattern with * (e.g. /posts/*)
  --include-bots      count bot traffic too
  --limit N           rows per list (default 20)
  --json              JSON for scripts
  --scope NAME        realtime only: a scope such as page:/posts/:id
  --dashboard-url URL realtime only: read the app's mounted dashboard (e.g. http://127.0.0.1:3000/_anon/dashboard)
                      instead of Redis: the way to see real time with the in-process memory hot store
  funnel takes its steps as arguments:  anon report funnel / '/posts/*' /signup

${STORE_HELP}`,
  worker: `Usage: anon worker [--interval 10s] [store options]

Drains the Redis Streams queue into the store and runs the sweeper until SIGTERM or SIGINT, then flushes and exits.
Prints throughput and lag every --interval.

${STORE_HELP}`,
  purge: `Usage: anon purge --older-than 90d [--dry-run] [store options]

Deletes anonymous sessions (never linked to a user), their page views and metrics, started before the cut-off.
Aggregates, conversions and authenticated sessions stay. --dry-run reports what would go and changes nothing.

${STORE_HELP}`,
  erase: `Usage: anon erase --user ID [--json] [store options]

Deletes the user's sessions (signed in, or converted to that user), their page views and metrics, and the
conversion. Aggregates keep their counts, which hold no identifier. Run it once the user's last page view has
reached the store.

${STORE_HELP}`,
  dashboard: `Usage: anon dashboard [--port 4000] [store options]

Serves @anon/dashboard (overview, pages, referrers, devices, conversions, funnel, journeys, bots; real time with
--redis-url) for the store on http://127.0.0.1:PORT/ until SIGTERM or SIGINT. Loopback only.

${STORE_HELP}`,
  demo: `Usage: anon demo [--visitors 400] [--duration 1d] [--seed 42] [--serve] [--port 0]

Starts an example Hono app with the memory hot store and PGlite, drives simulated traffic through it over real HTTP
(anonymous readers, returning visitors, signed-in users, crawlers, sign-ups), then prints the report.
  --visitors N        distinct visitors (default 400)
  --duration SPAN     simulated time the traffic spreads over (default 1d)
  --seed N            traffic seed (default 42)
  --serve             keep the app running afterwards and print its URL and its dashboard's
  --port N            port for --serve (default 0: any free port)`,
};

/** Run the CLI; resolves to the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[], given: Io): Promise<number> {
  const io = masked(given, masker(secretsOf(argv, given.env)));
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP.main as string);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      io.out(version);
      return 0;
    }
    switch (command) {
      case 'migrate':
        return await migrate(rest, io);
      case 'report':
        return await report(rest, io);
      case 'worker':
        return await (await import('./commands/worker.js')).worker(rest, io, HELP.worker as string);
      case 'purge':
        return await purge(rest, io);
      case 'erase':
        return await (await import('./commands/erase.js')).eraseCommand(rest, io, HELP.erase as string);
      case 'dashboard':
        return await (await import('./commands/dashboard.js')).dashboardCommand(
          rest,
          io,
          HELP.dashboard as string,
        );
      case 'demo':
        return await (await loadOptional(OPTIONAL.demo, () => import('./demo/run.js'))).demoCommand(
          rest,
          io,
          HELP.demo as string,
        );
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return fail(err, io, command);
  }
}

/**
 * `io` with every line masked: no password of a URL given on the command line or in the environment, nor any
 * URL's password, reaches the terminal, whatever prints it (a connection line, a driver's error, a stack trace).
 */
function masked(io: Io, mask: (text: string) => string): Io {
  const { progress } = io;
  return {
    ...io,
    out: (text) => io.out(mask(text)),
    err: (text) => io.err(mask(text)),
    ...(progress ? { progress: (text: string) => progress(mask(text)) } : {}),
  };
}

export function fail(err: unknown, io: Io, command?: string): number {
  if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    io.err(`anon: ${(err as Error).message}`);
    io.err(`Run 'anon ${command && HELP[command] ? `${command} ` : ''}--help' for usage.`);
    return 2;
  }
  if (err instanceof ConnectError || err instanceof MissingPackageError) {
    io.err(`anon: ${err.message}`);
    return 1;
  }
  if (isAnonError(err)) {
    // An AnonError reads "[anon] [postgres] …": after our own "anon: " prefix, keep only the source.
    io.err(`anon: ${err.message.replace(/^\[anon\] /, '')}`);
    return 1;
  }
  io.err(`anon: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

async function migrate(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: STORE_FLAGS, allowPositionals: false });
  if (values.help) return help(io, 'migrate');
  const conn = await connect(storeFlags(values, io.env), { store: 'create' });
  try {
    io.out(await conn.prepare());
    return 0;
  } finally {
    await conn.close();
  }
}

async function report(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...STORE_FLAGS,
      from: { type: 'string' },
      to: { type: 'string' },
      path: { type: 'string' },
      'include-bots': { type: 'boolean' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      scope: { type: 'string' },
      'dashboard-url': { type: 'string' },
    },
  });
  if (values.help) return help(io, 'report');
  const [name, ...steps] = positionals;
  if (name === undefined) throw new UsageError(`report needs a name: ${REPORTS.join(', ')}`);
  if (!isReportName(name)) throw new UsageError(`unknown report "${name}"; one of ${REPORTS.join(', ')}`);
  if (name === 'funnel' && steps.length === 0) throw new UsageError(FUNNEL_USAGE);
  const to = values.to ? parseDay(values.to, '--to') : new Date().toISOString().slice(0, 10);
  const from = values.from
    ? parseDay(values.from, '--from')
    : new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit takes a positive whole number (got "${values.limit}")`);
  const q: ReportQuery = { from, to, limit, includeBots: values['include-bots'] ?? false };
  if (values.path) q.path = values.path;

  const flags = storeFlags(values, io.env);
  if (name === 'realtime') {
    const { overall, scoped, windowMs } = values['dashboard-url']
      ? await realtimeFromDashboard(values['dashboard-url'], values.scope)
      : await realtimeFromRedis(flags, values.scope);
    const json = { activeVisitors: overall, scope: values.scope ?? null, scopeVisitors: scoped, windowMs };
    const line = (a: ActiveVisitors) => `${a.total} (${a.authenticated} signed in, ${a.anonymous} anonymous)`;
    const minutes = Math.round(windowMs / 60_000);
    io.out(
      values.json
        ? JSON.stringify(json, null, 2)
        : `active visitors (last ${minutes} min): ${line(overall)}${scoped ? `\nin ${values.scope}: ${line(scoped)}` : ''}`,
    );
    return 0;
  }
  const conn = await connect(flags);
  try {
    const result = await runReport(conn.store, name, q, steps);
    io.out(
      values.json ? JSON.stringify(result.json, null, 2) : `${name} · ${from} → ${to}\n\n${result.text}`,
    );
    return 0;
  } finally {
    await conn.close();
  }
}

interface Realtime {
  overall: ActiveVisitors;
  scoped: ActiveVisitors | null;
  windowMs: number;
}

/** Real time from the Redis hot store every instance shares. */
async function realtimeFromRedis(flags: ReturnType<typeof storeFlags>, scope?: string): Promise<Realtime> {
  const redis = await connectRedis(flags);
  try {
    const now = Date.now();
    const windowMs = 5 * 60_000;
    const overall = await redis.hot.activeVisitors(now, windowMs);
    const scoped = scope ? await redis.hot.activeVisitors(now, windowMs, scope) : null;
    return { overall, scoped, windowMs };
  } finally {
    await redis.close();
  }
}

/**
 * Real time from an app's mounted dashboard (`GET {url}/api/realtime`): the app's own tracker answers, so it
 * works with the in-process memory hot store too. The dashboard's `authorize` decides (by default: this machine).
 */
async function realtimeFromDashboard(base: string, scope?: string): Promise<Realtime> {
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/api/realtime`);
  } catch {
    throw new UsageError(`--dashboard-url is not a URL (got "${base}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--dashboard-url must be http(s) (got "${url.protocol}")`);
  }
  if (scope) url.searchParams.set('scope', scope);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new AnonError('hot_store_failed', `the dashboard at ${url.origin} did not answer`, {
      cause: error,
    });
  }
  const body = (await res.json().catch(() => null)) as {
    total?: number;
    authenticated?: number;
    anonymous?: number;
    windowMinutes?: number;
    scopes?: ({ scope: string } & ActiveVisitors)[];
    error?: string | null;
  } | null;
  if (!res.ok || body === null || typeof body.total !== 'number') {
    const why = res.status === 403 ? 'it refused this request (its authorize hook)' : `HTTP ${res.status}`;
    throw new AnonError('hot_store_failed', `the dashboard's real time failed: ${body?.error ?? why}`);
  }
  const split = (a: ActiveVisitors): ActiveVisitors => ({
    total: a.total,
    authenticated: a.authenticated ?? 0,
    anonymous: a.anonymous ?? a.total,
  });
  const found = scope ? body.scopes?.find((s) => s.scope === scope) : undefined;
  return {
    overall: split(body as ActiveVisitors),
    scoped: scope ? split(found ?? { total: 0, authenticated: 0, anonymous: 0 }) : null,
    windowMs: (body.windowMinutes ?? 5) * 60_000,
  };
}

async function purge(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...STORE_FLAGS,
      'older-than': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) return help(io, 'purge');
  if (!values['older-than']) throw new UsageError('purge needs --older-than, e.g. --older-than 90d');
  const age = parseDuration(values['older-than'], '--older-than');
  const before = Date.now() - age;
  const conn = await connect(storeFlags(values, io.env));
  try {
    const dryRun = values['dry-run'] ?? false;
    const removed = await conn.store.purge(before, { dryRun });
    const verb = dryRun ? 'would remove' : 'removed';
    io.out(
      values.json
        ? JSON.stringify({ dryRun, before: new Date(before).toISOString(), ...removed })
        : `${verb} ${removed.sessions} sessions, ${removed.pageViews} page views and ${removed.metrics} metrics started before ${new Date(before).toISOString()}`,
    );
    return 0;
  } finally {
    await conn.close();
  }
}

function help(io: Io, command: string): number {
  io.out(HELP[command] as string);
  return 0;
}
