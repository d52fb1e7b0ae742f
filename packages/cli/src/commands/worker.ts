import { parseArgs } from 'node:util';
import { createTracker } from '@anon/core';
import { connect } from '../connect.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../main.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';

/**
 * `anon worker`: consume the Redis Streams queue into the store and run the sweeper until asked to stop. Any
 * number of workers may run: the consumer group shares the stream, and finalization claims are atomic.
 */
export async function worker(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({ args, options: { ...STORE_FLAGS, interval: { type: 'string' } } });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const intervalMs = parseDuration(values.interval ?? '10s', '--interval');
  const flags = storeFlags(values, io.env);
  const conn = await connect(flags, { needRedis: true, store: 'create' });
  const redis = conn.redis as NonNullable<typeof conn.redis>;
  await conn.prepare();
  const tracker = createTracker({
    hot: redis.hot,
    queue: redis.queue,
    store: conn.store,
    worker: true,
    sweeper: { intervalMs: Math.min(intervalMs, 30_000) },
  });
  io.out(`worker: ${redis.where} → ${conn.where}; Ctrl-C or SIGTERM to stop`);
  let last = tracker.stats();
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const s = tracker.stats();
    const now = Date.now();
    const rate = ((s.written - last.written) * 1000) / Math.max(1, now - lastAt);
    io.out(
      `worker: ${s.written} events written (${rate.toFixed(0)}/s), ${s.finalized} sessions finalized, ` +
        `${s.conversions} conversions, queue depth ${s.queueDepth}, ${s.failures} failures`,
    );
    last = s;
    lastAt = now;
  }, intervalMs);
  timer.unref();
  await (io.stopSignal ?? new Promise<void>(() => undefined));
  clearInterval(timer);
  io.out('worker: stopping — flushing what is in hand');
  await tracker.close();
  await conn.close();
  const s = tracker.stats();
  io.out(`worker: stopped after ${s.written} events written`);
  return 0;
}
