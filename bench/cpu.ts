import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  createTracker,
  createUaParser,
  DEFAULT_CONFIG,
  type Hasher,
  normalize,
  type RequestInfo,
  type Tracker,
  webCryptoHasher,
} from '@anon/core';
import { memoryHotStore, memoryQueue } from '@anon/core/memory';
import { Bench, type Task } from 'tinybench';
import { asTrackerStore, nullStore } from './null-store.js';
import type { BenchPlan } from './options.js';
import { median, microsSince, round, sleep } from './stats.js';
import { browserAgent, hostileAgents } from './user-agents.js';

/** `track()` latency of one task, in µs. */
export interface TrackTiming {
  p50Us: number;
  p99Us: number;
  meanUs: number;
  samples: number;
  /** Calls whose result was not `tracked: true` (should be 0: every request is a page view). */
  untracked: number;
}

export interface HostileResult {
  agents: number;
  /** The slowest single `track()` over every hostile agent and repeat, in µs. */
  worstUs: number;
  worstAgent: string;
  /** The slowest call per agent shape, slowest first (top 10), with that shape's median call. */
  slowest: { agent: string; us: number; medianUs: number }[];
  /** Median of every hostile call: what one costs when the machine does not get in the way. */
  medianUs: number;
  /** Hostile requests that were not tracked (they still count as page views, possibly bots). */
  untracked: number;
  /** A stream of unique hostile agents tracked at a steady rate, with the event loop watched. */
  stream: HostileStream;
}

/** Unique hostile user agents tracked as a steady stream, as a server would receive them. */
export interface HostileStream {
  seconds: number;
  /** Hostile page views tracked per second. */
  viewsPerSecond: number;
  views: number;
  /** The slowest single `track()` call in the stream, µs. */
  worstTrackUs: number;
  /**
   * Event-loop delay while the stream and its batches ran (`perf_hooks.monitorEventLoopDelay`, 1 ms
   * resolution): how long a request arriving then would have waited, ms.
   */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

export interface CpuResult {
  /** `track()` with the user agent already in the parse cache. */
  warm: TrackTiming;
  /** `normalize()` alone on the same warm requests: the share of `track()` that deciding and reducing takes. */
  normalizeWarm: TrackTiming;
  /** `track()` with a user agent never seen before (ua-parser-js and isbot run). */
  cold: TrackTiming;
  /**
   * Whole-process CPU (user + system, all threads) per tracked request, the background work included:
   * the batch pipeline, the visitor key, the memory hot store, the events and the worker's hand-off to a
   * null store. Warm UA cache, core's default hasher.
   */
  processCpuPerTrackUs: number;
  /** The same with a new user agent on every request (the batch parses each one). */
  processCpuPerTrackColdUs: number;
  /** The same, warm, with `webCryptoHasher()` alone (no synchronous HMAC, as on an edge runtime). */
  processCpuPerTrackWebCryptoUs: number;
  hostile: HostileResult;
}

let ipCounter = 0;

/** A navigation as a binding reports it, from a new IP each time (a new visitor, as most views are). */
function request(userAgent: string): RequestInfo {
  ipCounter++;
  const n = ipCounter;
  return {
    method: 'GET',
    url: `/posts/${n % 1_000}?utm_source=news&utm_medium=email&fbclid=x${n}`,
    route: '/posts/:id',
    status: 200,
    ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    headers: {
      host: 'example.com',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language': 'en-US,en;q=0.9',
      referer: n % 3 === 0 ? 'https://news.ycombinator.com/item?id=1' : undefined,
      'user-agent': userAgent,
    },
  };
}

function newTracker(hasher?: Hasher): Tracker {
  // A null store drains the queue (what a deployment's worker does) and no sweeper runs: what is measured
  // is the request path, its batch and the events' hand-off, not a database.
  return createTracker({
    hot: memoryHotStore(),
    queue: memoryQueue(),
    store: asTrackerStore(nullStore()),
    sweeper: false,
    ...(hasher ? { hasher } : {}),
  });
}

function timingOf(task: Task | undefined, untracked: number): TrackTiming {
  const result = task?.result;
  if (result === undefined || !('latency' in result)) {
    throw new Error(`[anon] [bench] tinybench task ${task?.name ?? '?'} did not complete`);
  }
  return {
    p50Us: round(result.latency.p50 * 1_000, 2),
    p99Us: round(result.latency.p99 * 1_000, 2),
    meanUs: round(result.latency.mean * 1_000, 2),
    samples: result.latency.samplesCount,
    untracked,
  };
}

let sinceDrain = 0;

/**
 * Lets the background recording catch up every 100 calls, untimed: as on a busy server, a call finds some
 * earlier views still being recorded, but never the 10,000 in flight that make `track()` drop and count.
 */
function drain(tracker: Tracker): Promise<void> | undefined {
  sinceDrain = (sinceDrain + 1) % 100;
  return sinceDrain === 0 ? tracker.flush() : undefined;
}

/** Warm and cold `track()` with tinybench; the background work is drained every 100 calls, untimed. */
async function trackTimings(
  seconds: number,
): Promise<{ warm: TrackTiming; cold: TrackTiming; normalizeWarm: TrackTiming }> {
  const warmAgents = Array.from({ length: 200 }, (_, i) => browserAgent(i));
  const warmTracker = newTracker();
  for (const ua of warmAgents) warmTracker.track(request(ua));
  await warmTracker.flush();
  const coldTracker = newTracker();
  let w = 0;
  let c = 5_000_000;
  let warmUntracked = 0;
  let coldUntracked = 0;
  let normalizeUntracked = 0;
  const ua = createUaParser(DEFAULT_CONFIG.uaCacheSize);
  for (const agent of warmAgents) ua.parse(agent);
  // Each request is built before its iteration, untimed: only the call under test is in the timed window.
  let next = request(warmAgents[0]!);
  const nextWarm = () => {
    next = request(warmAgents[w++ % warmAgents.length]!);
  };
  const bench = new Bench({ time: seconds * 1_000, warmupTime: 250 });
  bench
    .add(
      'warm',
      () => {
        if (!warmTracker.track(next).tracked) warmUntracked++;
      },
      { beforeEach: nextWarm, afterEach: () => drain(warmTracker) },
    )
    .add(
      'cold',
      () => {
        if (!coldTracker.track(next).tracked) coldUntracked++;
      },
      {
        beforeEach: () => {
          next = request(browserAgent(c++));
        },
        afterEach: () => drain(coldTracker),
      },
    )
    .add(
      'normalize',
      () => {
        if (!normalize(next, DEFAULT_CONFIG, ua).track) normalizeUntracked++;
      },
      { beforeEach: nextWarm },
    );
  await bench.run();
  await warmTracker.close();
  await coldTracker.close();
  return {
    warm: timingOf(bench.getTask('warm'), warmUntracked),
    cold: timingOf(bench.getTask('cold'), coldUntracked),
    normalizeWarm: timingOf(bench.getTask('normalize'), normalizeUntracked),
  };
}

let coldAgent = 20_000_000;

/** CPU of the whole process per tracked request, background recording included. */
async function processCpuPerTrack(requests: number, options: { hasher?: Hasher; cold?: boolean } = {}) {
  const tracker = newTracker(options.hasher);
  const agents = Array.from({ length: 200 }, (_, i) => browserAgent(i));
  const agent = options.cold ? () => browserAgent(coldAgent++) : (i: number) => agents[i % agents.length]!;
  for (const ua of agents) tracker.track(request(ua));
  await tracker.flush();
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i += 100) {
    for (let j = 0; j < 100; j++) tracker.track(request(agent(i + j)));
    await tracker.flush();
  }
  const used = process.cpuUsage(before);
  await tracker.close();
  return round((used.user + used.system) / requests, 2);
}

/** The worst single `track()` over hostile user agents, each one cold (a fresh string every repeat). */
async function hostile(repeats: number): Promise<Omit<HostileResult, 'stream'>> {
  const tracker = newTracker();
  // Warm the code paths first so the first hostile call does not pay for JIT compilation.
  for (let i = 0; i < 2_000; i++) tracker.track(request(browserAgent(9_000_000 + i)));
  await tracker.flush();
  const agents = hostileAgents();
  const slowest: { agent: string; us: number; medianUs: number }[] = [];
  const all: number[] = [];
  let untracked = 0;
  for (const agent of agents) {
    const calls: number[] = [];
    for (let r = 0; r < repeats; r++) {
      // A distinct first character per repeat: the parse cache never holds it, the shape is unchanged.
      const req = request(`${r}${agent.ua}`);
      const start = process.hrtime.bigint();
      const result = tracker.track(req);
      const us = microsSince(start);
      if (!result.tracked) untracked++;
      calls.push(us);
      all.push(us);
      await tracker.flush();
    }
    slowest.push({ agent: agent.name, us: round(Math.max(...calls), 1), medianUs: round(median(calls), 1) });
  }
  await tracker.close();
  slowest.sort((a, b) => b.us - a.us);
  return {
    agents: agents.length,
    worstUs: slowest[0]?.us ?? Number.NaN,
    worstAgent: slowest[0]?.agent ?? '',
    slowest: slowest.slice(0, 10),
    medianUs: round(median(all), 1),
    untracked,
  };
}

/**
 * Unique hostile user agents tracked as a stream: every millisecond a few `track()` calls (each timed), with
 * the event loop's delay sampled by `monitorEventLoopDelay` while the batches that parse them run.
 */
async function hostileStream(seconds: number, viewsPerSecond: number): Promise<HostileStream> {
  const tracker = newTracker();
  for (let i = 0; i < 2_000; i++) tracker.track(request(browserAgent(9_500_000 + i)));
  await tracker.flush();
  const agents = hostileAgents();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let views = 0;
  let worst = 0;
  histogram.enable();
  const until = performance.now() + seconds * 1_000;
  const started = performance.now();
  while (performance.now() < until) {
    // As many views as the rate owes since the start: a late timer sends a burst, as a server would see.
    const owed = Math.floor(((performance.now() - started) / 1_000) * viewsPerSecond) - views;
    for (let k = 0; k < owed; k++) {
      // A distinct prefix each time: every agent is unique, so no cache ever holds it.
      const agent = agents[views % agents.length]!;
      const req = request(`${views}${agent.ua}`);
      const t0 = performance.now();
      tracker.track(req);
      worst = Math.max(worst, performance.now() - t0);
      views++;
    }
    await sleep(1);
  }
  const elapsed = (performance.now() - started) / 1_000;
  await tracker.flush();
  histogram.disable();
  await tracker.close();
  return {
    seconds: round(elapsed, 1),
    viewsPerSecond: round(views / elapsed, 0),
    views,
    worstTrackUs: round(worst * 1_000, 1),
    lagP50Ms: round(histogram.percentile(50) / 1e6, 2),
    lagP99Ms: round(histogram.percentile(99) / 1e6, 2),
    lagMaxMs: round(histogram.max / 1e6, 2),
  };
}

/** CPU per tracked request: `track()` warm and cold, whole-process CPU, and the hostile corpus. */
export async function measureCpu(plan: BenchPlan, log: (line: string) => void): Promise<CpuResult> {
  const { warm, cold, normalizeWarm } = await trackTimings(plan.cpu.seconds);
  log(
    `  track() warm p50 ${warm.p50Us} µs p99 ${warm.p99Us} µs; cold p50 ${cold.p50Us} µs p99 ${cold.p99Us} µs`,
  );
  log(`  normalize() alone, warm: p50 ${normalizeWarm.p50Us} µs p99 ${normalizeWarm.p99Us} µs`);
  const requests = plan.mode === 'quick' ? 10_000 : 100_000;
  const processCpuPerTrackUs = await processCpuPerTrack(requests);
  const processCpuPerTrackColdUs = await processCpuPerTrack(requests / 2, { cold: true });
  const processCpuPerTrackWebCryptoUs = await processCpuPerTrack(requests, { hasher: webCryptoHasher() });
  log(
    `  whole-process CPU per tracked request (background included): ${processCpuPerTrackUs} µs warm, ${processCpuPerTrackColdUs} µs cold UA, ${processCpuPerTrackWebCryptoUs} µs with Web Crypto alone`,
  );
  const hostileResult = await hostile(plan.cpu.hostileRepeats);
  log(
    `  hostile agents: worst single call ${hostileResult.worstUs} µs (${hostileResult.worstAgent}), median ${hostileResult.medianUs} µs`,
  );
  const stream = await hostileStream(plan.cpu.hostileStreamSeconds, 1_000);
  log(
    `  hostile stream: ${stream.viewsPerSecond} unique hostile views/s for ${stream.seconds} s; worst track() ${stream.worstTrackUs} µs; event-loop lag p99 ${stream.lagP99Ms} ms (max ${stream.lagMaxMs} ms)`,
  );
  return {
    warm,
    normalizeWarm,
    cold,
    processCpuPerTrackUs,
    processCpuPerTrackColdUs,
    processCpuPerTrackWebCryptoUs,
    hostile: { ...hostileResult, stream },
  };
}
