import type { AnonEvent, EventBatch } from '@anon/core';
import { isAnonError } from '@anon/core';
import { memoryQueue } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { pageView, T0 } from './memory-fixtures.js';

const events = (n: number, from = 0): AnonEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const view = { ...pageView(T0 + from + i, '/'), id: `e${from + i}` };
    return { type: 'pageview', id: view.id, view };
  });

const idsOf = (batches: EventBatch[]) => batches.flatMap((b) => b.events.map((e) => e.id));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls `condition` until it holds or two seconds pass: timers are late on a loaded machine. */
async function until(condition: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 2_000 && !condition(); waited += 5) await pause(5);
  return condition();
}
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('memoryQueue', () => {
  it('hands full batches by size, in order, with UUIDv7 batch ids', async () => {
    const queue = memoryQueue({ batchSize: 3, flushIntervalMs: 60_000 });
    const seen: EventBatch[] = [];
    queue.consume(async (b) => {
      seen.push(b);
    });
    queue.enqueue(events(7));
    await pause(20);
    // Two full batches leave at once; the seventh waits for the (long) interval.
    expect(seen.map((b) => b.events.length)).toEqual([3, 3]);
    await queue.flush();
    expect(idsOf(seen)).toEqual(idsOf([{ id: 'x', events: events(7) }]));
    expect(seen.map((b) => b.events.length)).toEqual([3, 3, 1]);
    for (const b of seen) expect(b.id).toMatch(UUID_V7);
    expect(new Set(seen.map((b) => b.id)).size).toBe(3);
    expect(queue.depth()).toBe(0);
    await queue.close();
  });

  it('sends a partial batch once flushIntervalMs has passed', async () => {
    const queue = memoryQueue({ batchSize: 100, flushIntervalMs: 10 });
    const seen: EventBatch[] = [];
    queue.consume(async (b) => {
      seen.push(b);
    });
    queue.enqueue(events(2));
    expect(seen).toHaveLength(0);
    expect(await until(() => seen.length > 0)).toBe(true);
    expect(seen.map((b) => b.events.length)).toEqual([2]);
    await queue.close();
  });

  it('drops the oldest events when full and counts them', async () => {
    const queue = memoryQueue({ maxEvents: 5, batchSize: 2 });
    queue.enqueue(events(4));
    queue.enqueue(events(4, 4));
    expect(queue.dropped()).toBe(3);
    expect(queue.depth()).toBe(5);
    queue.enqueue(events(10, 100));
    expect(queue.dropped()).toBe(13);
    const seen: EventBatch[] = [];
    queue.consume(async (b) => {
      seen.push(b);
    });
    await queue.flush();
    expect(idsOf(seen)).toEqual(['e105', 'e106', 'e107', 'e108', 'e109']);
    await queue.close();
  });

  it('retries a rejected batch under the same id with growing waits, never dropping it', async () => {
    const queue = memoryQueue({ batchSize: 10, flushIntervalMs: 1, retryInitialMs: 5, retryMaxMs: 20 });
    const attempts: { id: string; at: number }[] = [];
    queue.consume(async (b) => {
      attempts.push({ id: b.id, at: performance.now() });
      if (attempts.length < 4) throw new Error('store down');
    });
    queue.enqueue(events(3));
    await queue.flush();
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    // Waits of at least 5, 10 and 20 ms (timers may fire a little early on some platforms: 1 ms slack).
    const waits = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(waits[0]).toBeGreaterThanOrEqual(4);
    expect(waits[1]).toBeGreaterThanOrEqual(9);
    expect(waits[2]).toBeGreaterThanOrEqual(19);
    expect(queue.depth()).toBe(0);
    expect(queue.dropped()).toBe(0);
    await queue.close();
  });

  it('keeps one batch in flight per consumer', async () => {
    const queue = memoryQueue({ batchSize: 1, flushIntervalMs: 1 });
    let inFlight = 0;
    let most = 0;
    queue.consume(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await pause(2);
      inFlight--;
    });
    queue.enqueue(events(5));
    await queue.flush();
    expect(most).toBe(1);
    await queue.close();
  });

  it('shares batches among consumers without handing one batch to two', async () => {
    const queue = memoryQueue({ batchSize: 2, flushIntervalMs: 1 });
    const seen: string[][] = [[], []];
    for (const mine of seen) {
      queue.consume(async (b) => {
        await pause(1);
        mine.push(...b.events.map((e) => e.id));
      });
    }
    queue.enqueue(events(20));
    await queue.flush();
    const all = [...seen[0]!, ...seen[1]!];
    expect(all.sort()).toEqual(
      events(20)
        .map((e) => e.id)
        .sort(),
    );
    expect(seen[0]!.length).toBeGreaterThan(0);
    expect(seen[1]!.length).toBeGreaterThan(0);
    await queue.close();
  });

  it('flush resolves at once without a consumer, and after the handler otherwise', async () => {
    const queue = memoryQueue({ flushIntervalMs: 60_000 });
    queue.enqueue(events(3));
    await queue.flush();
    expect(queue.depth()).toBe(3);
    let handled = 0;
    queue.consume(async (b) => {
      await pause(5);
      handled += b.events.length;
    });
    // The interval is a minute: flush itself must send the partial batch.
    await queue.flush();
    expect(handled).toBe(3);
    expect(queue.depth()).toBe(0);
    await queue.close();
  });

  it('a stopped consumer hands its failing batch to the next one', async () => {
    const queue = memoryQueue({ batchSize: 5, flushIntervalMs: 1, retryInitialMs: 1_000 });
    let failures = 0;
    const failing = queue.consume(async () => {
      failures++;
      throw new Error('down');
    });
    queue.enqueue(events(2));
    expect(await until(() => failures > 0)).toBe(true);
    await pause(10);
    expect(failures).toBe(1);
    // Stopping interrupts the backoff instead of waiting a second.
    await failing.stop();
    expect(queue.depth()).toBe(2);
    const seen: EventBatch[] = [];
    queue.consume(async (b) => {
      seen.push(b);
    });
    await queue.flush();
    expect(idsOf(seen)).toEqual(['e0', 'e1']);
    await queue.close();
  });

  it('close stops consumers and timers; later events are dropped and counted', async () => {
    const queue = memoryQueue({ flushIntervalMs: 5 });
    const seen: EventBatch[] = [];
    queue.consume(async (b) => {
      seen.push(b);
    });
    await queue.close();
    queue.enqueue(events(2));
    expect(queue.dropped()).toBe(2);
    await pause(20);
    expect(seen).toEqual([]);
    expect(() => queue.consume(async () => {})).toThrow(/closed/);
  });

  it('never throws from enqueue, and rejects bad options with a typed error', () => {
    const queue = memoryQueue();
    expect(() => queue.enqueue(null as unknown as AnonEvent[])).not.toThrow();
    expect(queue.depth()).toBe(0);
    for (const bad of [
      { maxEvents: 0 },
      { batchSize: 1.5 },
      { flushIntervalMs: -1 },
      { retryMaxMs: Number.NaN },
    ]) {
      expect(() => memoryQueue(bad)).toThrow(expect.toSatisfy((e) => isAnonError(e, 'invalid_config')));
    }
  });
});
