import {
  dayOf,
  type RecordInput,
  type SessionRules,
  type SessionStep,
  uuidv7Ids,
  type ViewDraft,
} from '@anon/core';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import { type BatchForm, withBatchForm } from './batch-form.js';
import type { BenchPlan } from './options.js';
import { countCommands, redisServerDelta, sampleRedisServer } from './redis-commands.js';
import { connectRedis, deleteKeys, RUN_ID } from './services.js';
import { percentile, round, Samples } from './stats.js';

/** One load of the hot store: throughput, latency of one call, and what Redis did per view. */
export interface HotStoreLoad {
  /** Page views applied per second. */
  viewsPerSecond: number;
  /** Calls in flight at once, and views per call (1 for `recordPageView`). */
  concurrency: number;
  viewsPerCall: number;
  /** Latency of one call under that load, in ms. */
  p50Ms: number;
  p99Ms: number;
  /** Commands the client sent per page view (a pipelined command counts once). */
  commandsPerView: number;
  /** Commands by name over the run (EVALSHA is a record script). */
  commands: Record<string, number>;
  /** From the server (`INFO commandstats`, `INFO cpu`), per page view; other clients of the server count too. */
  serverScriptCallsPerView: number;
  serverCallsPerView: number;
  serverCpuPerViewUs: number;
  /** Server calls per page view by command name, those a script makes included (`INFO commandstats`). */
  serverCommandsPerView: Record<string, number>;
  /**
   * CPU of the bench process per page view (`process.cpuUsage`): the store's client side (payloads, ioredis,
   * replies, `sessionize`) plus building the inputs, which a deployment's engine does anyway.
   */
  clientCpuPerViewUs: number;
  /** Share of the page views that continued a session (the rest started one: more keys written). */
  continuedShare: number;
  /** Calls that rejected, and the first one's message. */
  failures: number;
  firstFailure?: string;
}

export interface HotStoreResult {
  skipped?: string;
  /** `recordPageViews` (the engine's call), batches of `viewsPerCall` views, several batches in flight. */
  batched?: HotStoreLoad;
  /** Whether `recordPageViews` was the store's own or the bench's loop over `recordPageView`. */
  batchForm?: BatchForm;
  /** `recordPageView` one view per call, many calls in flight over one auto-pipelined connection. */
  single?: HotStoreLoad;
}

export const RULES: SessionRules = {
  sessionTimeoutMs: 30 * 60_000,
  persistEvery: 5,
  botMaxViewsPerMinute: 60,
  realtimeWindowMs: 5 * 60_000,
};

const PATHS = ['/', '/pricing', '/blog', '/posts/:id', '/docs/:page', '/about', '/signup', '/login'];

/** A page view as the engine hands it to a hot store. */
export function viewDraft(id: string, at: number, n: number): ViewDraft {
  return {
    id,
    userId: n % 7 === 0 ? `user-${n % 1_000}` : null,
    authenticated: n % 7 === 0,
    at,
    day: dayOf(at, 'UTC'),
    path: PATHS[n % PATHS.length]!,
    url: PATHS[n % PATHS.length]!,
    pageType: null,
    scope: null,
    ip: null,
    isBot: false,
    botReasons: [],
    referrer: n % 4 === 0 ? 'https://news.ycombinator.com/item' : null,
    referrerHost: n % 4 === 0 ? 'news.ycombinator.com' : null,
    utmSource: n % 5 === 0 ? 'newsletter' : null,
    utmMedium: n % 5 === 0 ? 'email' : null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    device: n % 3 === 0 ? 'mobile' : 'desktop',
    browser: n % 2 === 0 ? 'Chrome' : 'Safari',
    os: n % 3 === 0 ? 'iOS' : 'Windows',
    country: null,
    city: null,
  };
}

/** A 64-hex visitor key, as the engine's HMAC makes them. */
export function visitorKeyOf(n: number): string {
  return n.toString(16).padStart(16, '0').repeat(4);
}

/** MurmurHash3's 32-bit finalizer: a bijection that spreads consecutive integers over all 32 bits. */
function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A 64-hex visitor key that looks random, as the engine's HMAC output does. The Redis hot store picks a visitor's
 * shard by a hash of the key, and `visitorKeyOf`'s repeated pattern lands in 8 of the 64 shards: this one fills
 * them evenly, as a deployment's visitors do.
 */
function spreadVisitorKey(n: number): string {
  let key = '';
  for (let i = 0; i < 8; i++)
    key += fmix32(Math.imul(n, 8) + i + 1)
      .toString(16)
      .padStart(8, '0');
  return key;
}

/**
 * Loads `call` from `concurrency` workers for `seconds`: each call records `viewsPerCall` views. Counts the
 * client's commands and reads the server's counters on either side.
 */
async function loadHotStore(
  redis: Redis,
  seconds: number,
  concurrency: number,
  viewsPerCall: number,
  call: (first: number, count: number) => Promise<readonly SessionStep[]>,
  counter: { n: number },
): Promise<HotStoreLoad> {
  const commands = countCommands(redis);
  const serverBefore = await sampleRedisServer(redis);
  const latencies = new Samples();
  let views = 0;
  let continued = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const until = Date.now() + seconds * 1_000;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (Date.now() < until) {
      const first = counter.n;
      counter.n += viewsPerCall;
      const t0 = process.hrtime.bigint();
      try {
        const steps = await call(first, viewsPerCall);
        views += viewsPerCall;
        for (const step of steps) if (!step.isNew) continued++;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (error) {
        failures++;
        firstFailure ??= String((error as Error)?.message ?? error).slice(0, 200);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  commands.restore();
  const server = redisServerDelta(serverBefore, await sampleRedisServer(redis));
  // Per view sent: a failed call sent its commands too (the figure is what Redis is asked, not what succeeded).
  const perView = (n: number) => n / Math.max(1, views + failures * viewsPerCall);
  return {
    viewsPerSecond: round(views / elapsed, 0),
    concurrency,
    viewsPerCall,
    p50Ms: round(percentile(latencies.values(), 50), 3),
    p99Ms: round(percentile(latencies.values(), 99), 3),
    commandsPerView: round(perView(commands.total()), 4),
    commands: Object.fromEntries(commands.counts),
    serverScriptCallsPerView: round(perView(server.scriptCalls), 4),
    serverCallsPerView: round(perView(server.calls), 3),
    serverCpuPerViewUs: round(perView(server.cpuUs), 2),
    serverCommandsPerView: Object.fromEntries(
      Object.entries(server.byCommand)
        .filter(([name]) => name !== 'info')
        .map(([name, n]) => [name, round(perView(n), 3)]),
    ),
    clientCpuPerViewUs: round((cpu.user + cpu.system) / Math.max(1, views), 2),
    continuedShare: round(continued / Math.max(1, views), 3),
    failures,
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}

/**
 * The Redis hot store alone, through one Redis: `recordPageViews` in batches (the engine's call) with a few
 * batches in flight, then `recordPageView` one view per call with many in flight for comparison. Visitors
 * come back once every one of `visitors` was seen, so whether views continue sessions or start them depends on
 * the run's length and speed: each load reports the share that continued.
 */
export async function measureHotStore(plan: BenchPlan, log: (line: string) => void): Promise<HotStoreResult> {
  const reached = await connectRedis();
  if (!reached.ok) return { skipped: reached.reason };
  const redis = reached.value;
  const prefix = `anonbench:${RUN_ID}:hot:`;
  const { hot, form } = withBatchForm(redisHotStore(redis, { prefix }));
  const ids = uuidv7Ids();
  const { seconds, concurrency, batchSize, visitors } = plan.hotStore;
  // Made before the load, so making them is not in its client CPU.
  const keys = Array.from({ length: visitors }, (_, v) => spreadVisitorKey(v));
  const input = (n: number, id: string): RecordInput => {
    const at = Date.now();
    return {
      visitorKey: keys[n] as string,
      previousVisitorKey: null,
      view: viewDraft(id, at, n),
      newSessionId: id,
      scopes: [`page:${PATHS[n % PATHS.length]}`],
    };
  };
  const inputs = (first: number, count: number) =>
    Array.from({ length: count }, (_, k) => input((first + k) % visitors, ids.next(Date.now())));
  try {
    // Load the scripts and the salt before counting.
    await hot.salt(Date.now());
    await hot.recordPageViews(inputs(0, 2), RULES);
    const counter = { n: 2 };
    // A looped batch is `batchSize` calls in flight on its own: one batch at a time keeps the store's
    // per-command timeout out of the figure.
    const batched = await loadHotStore(
      redis,
      seconds,
      form === 'looped' ? 1 : concurrency,
      batchSize,
      (first, count) => hot.recordPageViews(inputs(first, count), RULES),
      counter,
    );
    log(
      `  Redis recordPageViews (${form}): ${batched.viewsPerSecond} views/s in batches of ${batchSize}, ${batched.concurrency} in flight, p99 ${batched.p99Ms} ms per batch, ${batched.commandsPerView} commands per view`,
    );
    log(describeServer(batched));
    const single = await loadHotStore(
      redis,
      seconds / 2,
      128,
      1,
      async (first) => [await hot.recordPageView(input(first % visitors, ids.next(Date.now())), RULES)],
      counter,
    );
    log(
      `  Redis recordPageView: ${single.viewsPerSecond} views/s at 128 in flight, p99 ${single.p99Ms} ms, ${single.commandsPerView} commands per view`,
    );
    log(describeServer(single));
    return { batched, batchForm: form, single };
  } finally {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

/** What Redis and the bench process spent per page view, and on which commands. */
function describeServer(load: HotStoreLoad): string {
  const commands = Object.entries(load.serverCommandsPerView)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return `    server ${load.serverCpuPerViewUs} µs CPU and ${load.serverCallsPerView} calls per view (${commands}); client ${load.clientCpuPerViewUs} µs CPU per view; ${Math.round(load.continuedShare * 100)} % of views continued a session`;
}
