import { dayOf, type RecordInput, type SessionRules, uuidv7Ids, type ViewDraft } from '@anon/core';
import { redisHotStore } from '@anon/redis';
import type { Redis } from 'ioredis';
import type { BenchPlan } from './options.js';
import { connectRedis, deleteKeys, RUN_ID } from './services.js';
import { percentile, round, Samples } from './stats.js';

export interface HotStoreResult {
  skipped?: string;
  /** `recordPageView` calls answered per second, `concurrency` in flight at once. */
  viewsPerSecond?: number;
  concurrency?: number;
  /** Latency of one `recordPageView` under that load, in ms. */
  p50Ms?: number;
  p99Ms?: number;
  /**
   * Redis commands sent per page view, counted on the client: each is one request/response exchange, so
   * this is the round trips a page view waits for (auto-pipelining packs many views' commands per write).
   */
  commandsPerView?: number;
  /** Commands by name over the run (EVALSHA is the record script). */
  commands?: Record<string, number>;
  failures?: number;
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

/** Counts every command the client sends, by name, by wrapping `sendCommand` on this one client. */
function countCommands(redis: Redis): { counts: Map<string, number>; restore(): void } {
  const counts = new Map<string, number>();
  const target = redis as unknown as {
    sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown;
  };
  const original = target.sendCommand;
  target.sendCommand = function (command, ...rest) {
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
  return {
    counts,
    restore: () => {
      target.sendCommand = original;
    },
  };
}

/**
 * The Redis hot store alone: `recordPageView` per second with `concurrency` calls in flight over one
 * auto-pipelined connection, each visitor seen several times (sessions continue), and the commands sent
 * per page view.
 */
export async function measureHotStore(plan: BenchPlan, log: (line: string) => void): Promise<HotStoreResult> {
  const reached = await connectRedis();
  if (!reached.ok) return { skipped: reached.reason };
  const redis = reached.value;
  const prefix = `anonbench:${RUN_ID}:hot:`;
  const hot = redisHotStore(redis, { prefix });
  const ids = uuidv7Ids();
  const { seconds, concurrency, visitors } = plan.hotStore;
  try {
    // Load the scripts and the salt before counting.
    await hot.salt(Date.now());
    await hot.recordPageView(input(0, ids.next(Date.now())), RULES);
    const counter = countCommands(redis);
    const latencies = new Samples();
    let done = 0;
    let failures = 0;
    let n = 1;
    const until = Date.now() + seconds * 1_000;
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (Date.now() < until) {
        const i = n++;
        const at = Date.now();
        const t0 = process.hrtime.bigint();
        try {
          await hot.recordPageView(input(i % visitors, ids.next(at)), RULES);
          done++;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          failures++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    counter.restore();
    const sent = [...counter.counts.values()].reduce((a, b) => a + b, 0);
    const result: HotStoreResult = {
      viewsPerSecond: round(done / elapsed, 0),
      concurrency,
      p50Ms: round(percentile(latencies.values(), 50), 3),
      p99Ms: round(percentile(latencies.values(), 99), 3),
      commandsPerView: round(sent / Math.max(1, done), 3),
      commands: Object.fromEntries(counter.counts),
      failures,
    };
    log(
      `  Redis recordPageView: ${result.viewsPerSecond}/s at ${concurrency} in flight, p99 ${result.p99Ms} ms, ${result.commandsPerView} commands per view`,
    );
    return result;
  } finally {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

function input(n: number, id: string): RecordInput {
  const at = Date.now();
  return {
    visitorKey: visitorKeyOf(n),
    previousVisitorKey: null,
    view: viewDraft(id, at, n),
    newSessionId: id,
    scopes: [`page:${PATHS[n % PATHS.length]}`],
  };
}
