import { isAnonError } from '@anon/core';
import { version } from '../package.json';
import { REPORTS } from './commands/report.js';
import { ConnectError } from './connect.js';
import { loadOptional, MissingPackageError, OPTIONAL } from './optional-packages.js';
import { masker, secretsOf } from './secrets.js';
import { STORE_HELP } from './store-flags.js';
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
        return await (await import('./commands/migrate.js')).migrateCommand(rest, io, HELP.migrate as string);
      case 'report':
        return await (await import('./commands/report-command.js')).reportCommand(
          rest,
          io,
          HELP.report as string,
        );
      case 'worker':
        return await (await import('./commands/worker.js')).worker(rest, io, HELP.worker as string);
      case 'purge':
        return await (await import('./commands/purge.js')).purgeCommand(rest, io, HELP.purge as string);
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
