import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrackerStats } from '@anon/core';
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import type { BatchForm } from './batch-form.js';
import type { BenchPlan } from './options.js';
import { type RedisServerSample, redisServerDelta, sampleRedisServer } from './redis-commands.js';
import { connectRedis, deleteKeys, RUN_ID } from './services.js';
import { median, round } from './stats.js';
import { browserAgent } from './user-agents.js';
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

/** Redis figures of one variant, per tracked view, medians over rounds. */
export interface RedisPerView {
  /** Commands the app's Redis client sent (a pipelined command counts once; a script call counts once). */
  clientCommands: number | null;
  /** Script calls (`EVALSHA` …) the Redis server ran, from `INFO commandstats`: round trips that ran Lua. */
  serverScriptCalls: number | null;
  /** Every command the server counted, the ones scripts ran inside included (`INFO commandstats`). */
  serverCalls: number | null;
  /** Redis server CPU (`INFO cpu`: user + sys), µs. */
  serverCpuUs: number | null;
}

/** One variant of one framework over all rounds. */
export interface VariantResult {
  /** Median over rounds of 2xx responses per second. */
  rps: number | null;
  /** Median over rounds of autocannon's latency percentiles, in ms. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Median over rounds of this variant's rps divided by bare's rps in the same round. */
  ratioToBare: number | null;
  /** The same against the floor of the same round. */
  ratioToFloor: number | null;
  /**
   * Median over rounds of the server process's CPU (`process.cpuUsage`, user + system, every thread) per 2xx
   * response, in µs, read after the background work of the round's requests settled.
   */
  cpuPerRequestUs: number | null;
  /** Median over rounds of `cpuPerRequestUs` minus bare's in the same round: what the middleware adds. */
  addedCpuOverBareUs: number | null;
  /** The same minus the floor's: what the middleware adds beyond a capture-only middleware. */
  addedCpuOverFloorUs: number | null;
  /**
   * The synchronous `track()` calls, timed one by one in the server under load after the rounds (a run of
   * its own, memory variant only): the request-path CPU.
   */
  requestPath?: ProbeTiming | null;
  /** Redis variant only. */
  redisPerView?: RedisPerView;
  /** Whether the hot store's `recordPageViews` was its own or a bench loop over `recordPageView`. */
  batchForm?: BatchForm | null;
  /** Each round's rps, in round order. */
  roundsRps: number[];
  /** Responses that were not 2xx, connection errors and timeouts, all rounds and warm-up included. */
  errors: number;
  /** What the tracker counted (null for bare and floor): `tracked` should equal the responses it served. */
  stats: TrackerStats | null;
  /** Events the worker handed to the null store (the queue was drained, not filled). */
  storedEvents?: number;
  /** 2xx responses served, warm-up and probe included (compare with `stats.tracked`). */
  responses: number;
  /** Why the variant could not be measured. */
  skipped?: string;
}

export interface OverheadResult {
  connections: number;
  rounds: number;
  secondsPerRun: number;
  probeSeconds: number;
  userAgents: number;
  /** Redis commands another client sent during our runs make the server-side Redis figures high. */
  redisServerShared: boolean;
  frameworks: Record<Framework, Record<Variant, VariantResult>>;
}

/** Distinct user agents the load cycles through: fewer than the UA cache holds, so the cache is warm. */
const USER_AGENTS = 500;
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

interface Server {
  child: ChildProcess;
  port: number;
  batchForm: BatchForm | null;
}

/** Forks `server.ts` and waits for its port. */
function startServer(
  framework: Framework,
  variant: Variant,
  prefix: string,
  execArgv: string[] = [],
): Promise<Server> {
  const child = fork(SERVER_SCRIPT, [framework, variant, prefix], {
    execArgv: [...execArgv, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${framework}/${variant} server did not start in 60 s`));
    }, 60_000);
    child.once('message', (message: ServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ child, port: message.port, batchForm: message.batchForm });
      else reject(new Error(message.type === 'failed' ? message.error : `unexpected ${message.type}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${framework}/${variant} server exited with ${code} before it was ready`));
    });
  });
}

/** Sends `request` and waits for the reply of type `type` (15 s at most). */
function ask<T extends ServerMessage['type']>(
  server: Server,
  request: ServerRequest,
  type: T,
): Promise<Extract<ServerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', listener);
      reject(new Error(`no ${type} answer in 15 s`));
    }, 15_000);
    const listener = (message: ServerMessage) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      server.child.off('message', listener);
      resolve(message as Extract<ServerMessage, { type: T }>);
    };
    server.child.on('message', listener);
    server.child.send(request);
  });
}

/** Asks a server to stop and returns what its tracker counted; kills it if it does not answer in 15 s. */
async function stopServer(server: Server): Promise<{ stats: TrackerStats | null; storedEvents: number }> {
  try {
    const stopped = await ask(server, { type: 'stop' }, 'stopped');
    return { stats: stopped.stats, storedEvents: stopped.storedEvents };
  } catch {
    server.child.kill('SIGKILL');
    return { stats: null, storedEvents: 0 };
  }
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
  /** Server CPU per 2xx response, µs. */
  cpuPerRequestUs: number;
  views: number;
  clientCommands: number;
  redisServer: RedisServerSample | null;
}

/** One bounded load run from this process (the load generator) against a server on loopback. */
async function load(port: number, seconds: number, connections: number) {
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

/** A load run with the server's counters (and the Redis server's, when given) read on either side. */
async function measuredLoad(
  server: Server,
  seconds: number,
  connections: number,
  redis: Redis | null,
): Promise<Run> {
  const before: Counters = (await ask(server, { type: 'counters' }, 'counters')).counters;
  const redisBefore = redis === null ? null : await sampleRedisServer(redis);
  const run = await load(server.port, seconds, connections);
  // Reading the counters settles the background work first, so the run's CPU includes all it caused.
  const after: Counters = (await ask(server, { type: 'counters' }, 'counters')).counters;
  const redisAfter = redis === null ? null : await sampleRedisServer(redis);
  return {
    ...run,
    cpuPerRequestUs: (after.cpuUs - before.cpuUs) / Math.max(1, run.ok),
    views: after.views - before.views,
    clientCommands: after.redisCommands - before.redisCommands,
    redisServer: redisBefore && redisAfter ? redisServerDelta(redisBefore, redisAfter) : null,
  };
}

function skipped(reason: string): VariantResult {
  return {
    rps: null,
    p50Ms: null,
    p99Ms: null,
    ratioToBare: null,
    ratioToFloor: null,
    cpuPerRequestUs: null,
    addedCpuOverBareUs: null,
    addedCpuOverFloorUs: null,
    roundsRps: [],
    errors: 0,
    stats: null,
    responses: 0,
    skipped: reason,
  };
}

/** Median over rounds of `f(run, baseline run of the same round)`, or null without a full baseline. */
function paired(list: Run[], base: Run[] | undefined, f: (run: Run, base: Run) => number): number | null {
  if (base === undefined || base.length !== list.length || list.length === 0) return null;
  return median(list.map((run, i) => f(run, base[i]!)));
}

/** Median over rounds of a per-view figure; null when no run counted a view. */
function perView(list: Run[], f: (run: Run) => number | null): number | null {
  const values = list.filter((run) => run.views > 0).map((run) => f(run));
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return median(values as number[]);
}

/**
 * Per-request overhead: for each framework, bare / floor / memory / Redis servers loaded in turn (the order
 * flips every round so drift on a noisy machine cancels), each ratio and CPU difference taken against bare
 * and the floor of the same round; then the request path timed in the memory server.
 */
export async function measureOverhead(plan: BenchPlan, log: (line: string) => void): Promise<OverheadResult> {
  const { rounds, seconds, warmupSeconds, connections, probeSeconds } = plan.overhead;
  const reached = await connectRedis();
  const redis = reached.ok ? reached.value : null;
  const redisSkip = reached.ok ? null : reached.reason;
  const frameworks = {} as Record<Framework, Record<Variant, VariantResult>>;
  let redisServerShared = false;

  for (const framework of FRAMEWORKS) {
    const prefix = `anonbench:${RUN_ID}:${framework}:`;
    const servers = new Map<Variant, Server>();
    const results = {} as Record<Variant, VariantResult>;
    const runs = new Map<Variant, Run[]>();
    // The servers start together (each compiles its TypeScript on start), then wait idle for their turn.
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
    const count = (variant: Variant, run: { ok: number; errors: number }) => {
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
        const run = await measuredLoad(server, seconds, connections, variant === 'redis' ? redis : null);
        count(variant, run);
        runs.get(variant)!.push(run);
        // More script calls on the server than our client sent: someone else used Redis meanwhile.
        if (run.redisServer !== null && run.redisServer.scriptCalls > run.clientCommands * 1.05 + 10)
          redisServerShared = true;
      }
    }
    // The request path, timed call by call: a run of its own, so the timer's cost stays out of the rounds.
    let requestPath: ProbeTiming | null = null;
    const memoryServer = servers.get('memory');
    if (memoryServer !== undefined && probeSeconds > 0) {
      memoryServer.child.send({ type: 'probe', on: true } satisfies ServerRequest);
      const probeRun = await load(memoryServer.port, probeSeconds, connections);
      count('memory', probeRun);
      requestPath = (await ask(memoryServer, { type: 'probe', on: false }, 'probe')).timing;
    }
    const bareRuns = runs.get('bare');
    const floorRuns = runs.get('floor');
    for (const [variant, server] of servers) {
      const { stats, storedEvents } = await stopServer(server);
      const list = runs.get(variant)!;
      const tracked = variant === 'memory' || variant === 'redis';
      results[variant] = {
        rps: round(median(list.map((x) => x.rps)), 0),
        p50Ms: round(median(list.map((x) => x.p50Ms)), 2),
        p99Ms: round(median(list.map((x) => x.p99Ms)), 2),
        ratioToBare: roundOrNull(
          paired(list, bareRuns, (x, b) => x.rps / b.rps),
          3,
        ),
        ratioToFloor: roundOrNull(
          paired(list, floorRuns, (x, b) => x.rps / b.rps),
          3,
        ),
        cpuPerRequestUs: round(median(list.map((x) => x.cpuPerRequestUs)), 2),
        addedCpuOverBareUs: roundOrNull(
          paired(list, bareRuns, (x, b) => x.cpuPerRequestUs - b.cpuPerRequestUs),
          2,
        ),
        addedCpuOverFloorUs: roundOrNull(
          paired(list, floorRuns, (x, b) => x.cpuPerRequestUs - b.cpuPerRequestUs),
          2,
        ),
        ...(variant === 'memory' ? { requestPath: roundTiming(requestPath) } : {}),
        ...(variant === 'redis'
          ? {
              redisPerView: {
                clientCommands: roundOrNull(
                  perView(list, (x) => x.clientCommands / x.views),
                  3,
                ),
                serverScriptCalls: roundOrNull(
                  perView(list, (x) => (x.redisServer ? x.redisServer.scriptCalls / x.views : null)),
                  3,
                ),
                serverCalls: roundOrNull(
                  perView(list, (x) => (x.redisServer ? x.redisServer.calls / x.views : null)),
                  3,
                ),
                serverCpuUs: roundOrNull(
                  perView(list, (x) => (x.redisServer ? x.redisServer.cpuUs / x.views : null)),
                  2,
                ),
              },
            }
          : {}),
        ...(tracked ? { batchForm: server.batchForm, storedEvents } : {}),
        roundsRps: list.map((x) => round(x.rps, 0)),
        errors: errors.get(variant) ?? 0,
        stats,
        responses: responses.get(variant) ?? 0,
      };
    }
    frameworks[framework] = results;
    if (redis !== null) await deleteKeys(redis, prefix);
    log(
      `  ${framework.padEnd(8)} ${VARIANTS.map((v) => {
        const x = results[v];
        if (x.rps === null) return `${v}: skipped`;
        if (v === 'bare') return `bare: ${x.rps} rps ${x.cpuPerRequestUs} µs CPU/req`;
        return `${v}: ×${x.ratioToBare} +${x.addedCpuOverBareUs} µs${v === 'floor' ? '' : ` (+${x.addedCpuOverFloorUs} over floor)`}`;
      }).join(' | ')}`,
    );
    const path = results.memory?.requestPath;
    if (path) log(`           request path: track() mean ${path.meanUs} µs, p99 ${path.p99Us} µs`);
  }
  redis?.disconnect();
  return {
    connections,
    rounds,
    secondsPerRun: seconds,
    probeSeconds,
    userAgents: USER_AGENTS,
    redisServerShared,
    frameworks,
  };
}

function roundOrNull(value: number | null, digits: number): number | null {
  return value === null ? null : round(value, digits);
}

function roundTiming(t: ProbeTiming | null): ProbeTiming | null {
  if (t === null) return null;
  return {
    calls: t.calls,
    meanUs: round(t.meanUs, 3),
    p50Us: round(t.p50Us, 3),
    p99Us: round(t.p99Us, 3),
    maxUs: round(t.maxUs, 1),
  };
}

/**
 * `--profile=<framework>`: the memory variant of one framework under load for `seconds`, after a warm-up, with
 * V8's CPU profiler on for the load only; the server writes `file` (a `.cpuprofile`, as `node --cpu-prof`
 * writes, readable by Chrome DevTools and `bench/profile-top.ts`).
 */
export async function profileServer(
  framework: Framework,
  variant: 'memory' | 'redis',
  seconds: number,
  connections: number,
  file: string,
  log: (line: string) => void,
): Promise<void> {
  const server = await startServer(framework, variant, `anonbench:${RUN_ID}:profile:`);
  try {
    await load(server.port, Math.min(3, seconds), connections);
    log(`  ${framework}/${variant}: warmed up; profiling ${seconds} s of load`);
    server.child.send({ type: 'profile', on: true } satisfies ServerRequest);
    const run = await load(server.port, seconds, connections);
    await ask(server, { type: 'counters' }, 'counters');
    await ask(server, { type: 'profile', on: false, file }, 'profiled');
    log(`  ${Math.round(run.rps)} rps during the profile`);
  } finally {
    await stopServer(server);
  }
}
