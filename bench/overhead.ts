import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrackerStats } from '@anon/core';
import autocannon from 'autocannon';
import type { BenchPlan } from './options.js';
import { connectRedis, deleteKeys, RUN_ID } from './services.js';
import { median, round } from './stats.js';
import { browserAgent } from './user-agents.js';
import { FRAMEWORKS, type Framework, type ServerMessage, VARIANTS, type Variant } from './variants.js';

/** One variant of one framework over all rounds. */
export interface VariantResult {
  /** Median over rounds of 2xx responses per second. */
  rps: number | null;
  /** Median over rounds of autocannon's latency percentiles, in ms. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Median over rounds of this variant's rps divided by bare's rps in the same round. */
  ratioToBare: number | null;
  /** Each round's rps, in round order. */
  roundsRps: number[];
  /** Responses that were not 2xx, connection errors and timeouts, all rounds and warm-up included. */
  errors: number;
  /** What the tracker counted (null for bare): `tracked` should equal the responses it served. */
  stats: TrackerStats | null;
  /** 2xx responses served, warm-up included (compare with `stats.tracked`). */
  responses: number;
  /** Why the variant could not be measured. */
  skipped?: string;
}

export interface OverheadResult {
  connections: number;
  rounds: number;
  secondsPerRun: number;
  userAgents: number;
  frameworks: Record<Framework, Record<Variant, VariantResult>>;
}

/** Distinct user agents the load cycles through: fewer than the UA cache holds, so the cache is warm. */
const USER_AGENTS = 500;
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

interface Server {
  child: ChildProcess;
  port: number;
}

/** Forks `server.ts` and waits for its port. */
function startServer(framework: Framework, variant: Variant, prefix: string): Promise<Server> {
  const child = fork(SERVER_SCRIPT, [framework, variant, prefix], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${framework}/${variant} server did not start in 60 s`));
    }, 60_000);
    child.once('message', (message: ServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ child, port: message.port });
      else reject(new Error(message.type === 'failed' ? message.error : `unexpected ${message.type}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${framework}/${variant} server exited with ${code} before it was ready`));
    });
  });
}

/** Asks a server to stop and returns its tracker's stats; kills it if it does not answer in 15 s. */
function stopServer(server: Server): Promise<TrackerStats | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.child.kill('SIGKILL');
      resolve(null);
    }, 15_000);
    server.child.once('message', (message: ServerMessage) => {
      clearTimeout(timer);
      resolve(message.type === 'stopped' ? message.stats : null);
    });
    server.child.send('stop');
  });
}

const REQUESTS: autocannon.Request[] = Array.from({ length: USER_AGENTS }, (_, i) => ({
  method: 'GET',
  path: '/',
  headers: {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
    'user-agent': browserAgent(i),
  },
}));

interface Run {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  errors: number;
}

/** One bounded load run from this process (the load generator) against a server on loopback. */
async function load(port: number, seconds: number, connections: number): Promise<Run> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: REQUESTS,
    timeout: 10,
  });
  const elapsed = (result.finish.getTime() - result.start.getTime()) / 1_000;
  return {
    rps: result['2xx'] / elapsed,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

function skipped(reason: string): VariantResult {
  return {
    rps: null,
    p50Ms: null,
    p99Ms: null,
    ratioToBare: null,
    roundsRps: [],
    errors: 0,
    stats: null,
    responses: 0,
    skipped: reason,
  };
}

/**
 * Per-request overhead: for each framework, bare / memory / Redis servers loaded in turn, A/B/A/B (the order
 * flips every round so drift on a noisy machine cancels), each ratio taken against bare of the same round.
 */
export async function measureOverhead(plan: BenchPlan, log: (line: string) => void): Promise<OverheadResult> {
  const { rounds, seconds, warmupSeconds, connections } = plan.overhead;
  const redis = await connectRedis();
  const redisSkip = redis.ok ? null : redis.reason;
  const frameworks = {} as Record<Framework, Record<Variant, VariantResult>>;

  for (const framework of FRAMEWORKS) {
    const prefix = `anonbench:${RUN_ID}:${framework}:`;
    const servers = new Map<Variant, Server>();
    const results = {} as Record<Variant, VariantResult>;
    const runs = new Map<Variant, Run[]>();
    // The three servers start together (each compiles its TypeScript on start), then wait idle for their turn.
    const started = await Promise.allSettled(
      VARIANTS.map((variant) =>
        variant === 'redis' && redisSkip !== null
          ? Promise.reject(new Error(redisSkip))
          : startServer(framework, variant, prefix),
      ),
    );
    VARIANTS.forEach((variant, i) => {
      const outcome = started[i]!;
      if (outcome.status === 'fulfilled') {
        servers.set(variant, outcome.value);
        runs.set(variant, []);
      } else if (variant === 'redis' && redisSkip !== null) {
        results[variant] = skipped(redisSkip);
      } else {
        const reason = String((outcome.reason as Error)?.message ?? outcome.reason).split('\n')[0];
        results[variant] = skipped(`server failed to start: ${reason}`);
        log(`  ${framework}/${variant}: ${results[variant].skipped}`);
      }
    });
    const responses = new Map<Variant, number>();
    const errors = new Map<Variant, number>();
    const count = (variant: Variant, run: Run) => {
      responses.set(variant, (responses.get(variant) ?? 0) + run.ok);
      errors.set(variant, (errors.get(variant) ?? 0) + run.errors);
    };
    for (const [variant, server] of servers)
      count(variant, await load(server.port, warmupSeconds, connections));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [...VARIANTS] : [...VARIANTS].reverse();
      for (const variant of order) {
        const server = servers.get(variant);
        if (server === undefined) continue;
        const run = await load(server.port, seconds, connections);
        count(variant, run);
        runs.get(variant)!.push(run);
      }
    }
    const bareRuns = runs.get('bare') ?? [];
    for (const [variant, server] of servers) {
      const stats = await stopServer(server);
      const list = runs.get(variant)!;
      const ratios = bareRuns.length === list.length ? list.map((run, i) => run.rps / bareRuns[i]!.rps) : [];
      results[variant] = {
        rps: round(median(list.map((x) => x.rps)), 0),
        p50Ms: round(median(list.map((x) => x.p50Ms)), 2),
        p99Ms: round(median(list.map((x) => x.p99Ms)), 2),
        ratioToBare: ratios.length > 0 ? round(median(ratios), 3) : null,
        roundsRps: list.map((x) => round(x.rps, 0)),
        errors: errors.get(variant) ?? 0,
        stats,
        responses: responses.get(variant) ?? 0,
      };
    }
    frameworks[framework] = results;
    if (redis.ok) await deleteKeys(redis.value, prefix);
    log(
      `  ${framework.padEnd(8)} ${VARIANTS.map((v) => {
        const x = results[v];
        return x.rps === null
          ? `${v}: skipped`
          : `${v}: ${x.rps} rps p99 ${x.p99Ms} ms${v === 'bare' ? '' : ` ×${x.ratioToBare}`}`;
      }).join(' | ')}`,
    );
  }
  if (redis.ok) redis.value.disconnect();
  return { connections, rounds, secondsPerRun: seconds, userAgents: USER_AGENTS, frameworks };
}
