import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type HotStore, type SessionRules, uuidv7Ids } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { redisHotStore } from '@anon/redis';
import { RULES, viewDraft, visitorKeyOf } from './hot-store.js';
import type { BenchPlan } from './options.js';
import { connectRedis, deleteKeys, RUN_ID } from './services.js';
import { round } from './stats.js';

export interface MemoryResult {
  visitors: number;
  /** Views per visitor recorded (each visitor has one live session). */
  viewsPerVisitor: number;
  /** V8 heap used per active visitor in the memory hot store, after a full GC, in bytes. */
  memoryHotStoreBytesPerVisitor: number;
  /** Redis memory per active visitor: `MEMORY USAGE` of every key the hot store wrote, in bytes. */
  redisBytesPerVisitor: number | null;
  /** Keys the Redis hot store holds per active visitor (shard-wide sets counted once). */
  redisKeysPerVisitor: number | null;
  redisSkipped?: string;
}

/** A full collection, without starting node with `--expose-gc`. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

const VIEWS_PER_VISITOR = 3;

/** Records `visitors` visitors, `VIEWS_PER_VISITOR` views each, as live sessions in `hot`. */
async function fill(hot: HotStore, visitors: number, rules: SessionRules): Promise<void> {
  const ids = uuidv7Ids();
  const now = Date.now();
  for (let view = 0; view < VIEWS_PER_VISITOR; view++) {
    for (let start = 0; start < visitors; start += 500) {
      const calls = [];
      for (let v = start; v < Math.min(visitors, start + 500); v++) {
        const at = now + view * 1_000;
        const id = ids.next(at);
        calls.push(
          hot.recordPageView(
            {
              visitorKey: visitorKeyOf(v),
              previousVisitorKey: null,
              view: viewDraft(id, at, v + view),
              newSessionId: ids.next(at),
              scopes: [`page:/posts/:id`],
            },
            rules,
          ),
        );
      }
      await Promise.all(calls);
    }
  }
}

/** Sums `MEMORY USAGE` over every key under `prefix`. */
async function redisUsage(
  redis: import('ioredis').Redis,
  prefix: string,
): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    const sizes = await Promise.all(
      batch.map((key) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number | null>),
    );
    for (const size of sizes) bytes += size ?? 0;
    keys += batch.length;
  } while (cursor !== '0');
  return { bytes, keys };
}

/** Memory per active visitor: V8 heap in the memory hot store, and Redis memory in the Redis hot store. */
export async function measureMemory(plan: BenchPlan, log: (line: string) => void): Promise<MemoryResult> {
  const visitors = plan.memory.visitors;
  const gc = collector();
  // Rate counters and real-time entries are part of a live visitor's cost; keep them all in the window.
  const rules: SessionRules = { ...RULES, botMaxViewsPerMinute: 1_000 };

  gc();
  const before = process.memoryUsage().heapUsed;
  let hot: HotStore | null = memoryHotStore();
  await fill(hot, visitors, rules);
  gc();
  const after = process.memoryUsage().heapUsed;
  const memoryBytes = round((after - before) / visitors, 0);
  log(`  memory hot store: ${memoryBytes} B of heap per active visitor (${visitors} visitors)`);
  await hot.close?.();
  hot = null;

  const result: MemoryResult = {
    visitors,
    viewsPerVisitor: VIEWS_PER_VISITOR,
    memoryHotStoreBytesPerVisitor: memoryBytes,
    redisBytesPerVisitor: null,
    redisKeysPerVisitor: null,
  };
  const reached = await connectRedis();
  if (!reached.ok) return { ...result, redisSkipped: reached.reason };
  const redis = reached.value;
  const prefix = `anonbench:${RUN_ID}:mem:`;
  try {
    await fill(redisHotStore(redis, { prefix }), visitors, rules);
    const usage = await redisUsage(redis, prefix);
    result.redisBytesPerVisitor = round(usage.bytes / visitors, 0);
    result.redisKeysPerVisitor = round(usage.keys / visitors, 2);
    log(
      `  Redis hot store: ${result.redisBytesPerVisitor} B per active visitor, ${result.redisKeysPerVisitor} keys each`,
    );
  } finally {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  return result;
}
