import type { AnonEvent, Consumer, EventBatch } from '@anon/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_NOW, fixtureView, pageViewEvent } from './fixtures.js';
import type { QueueHarness } from './harness.js';
import { sleep, waitFor } from './wait-for.js';

/** What a queue under test cannot do or how it is bounded. */
export interface QueueContractOptions {
  /** The backend keeps one producer's events in order (a single consumer sees them so). @default true */
  order?: boolean;
  /**
   * The bound the harness configured: enqueueing `capacity + 25` events with no consumer must drop (and count)
   * at least 25. Leave unset to skip the bound test.
   */
  capacity?: number;
  /** `flush()` also waits until a running consumer has handled everything (the memory queue does). @default false */
  flushWaitsForHandler?: boolean;
  /** How long to wait for deliveries, retries included, in ms. @default 20_000 */
  settleMs?: number;
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
}

function makeEvents(count: number): AnonEvent[] {
  return Array.from({ length: count }, (_, i) =>
    pageViewEvent(fixtureView({ at: FIXTURE_NOW + i, path: `/q/${i}` })),
  );
}

/** Enqueues in uneven chunks, as a busy app would. */
function enqueueAll(enqueue: (events: AnonEvent[]) => void, events: AnonEvent[]): void {
  for (let i = 0, size = 1; i < events.length; i += size, size = (size % 7) + 1) {
    enqueue(events.slice(i, i + size));
  }
}

/**
 * Registers the queue contract as a vitest `describe` block. `create` is called once per test and must return
 * an empty queue and a way to open a second instance on the same backend (the memory queue returns itself).
 * @example
 * queueContract('redis streams', async () => ({ queue: redisStreamQueue(redis, { stream }), peer, cleanup }), { capacity: 1_000 });
 */
export function queueContract(
  name: string,
  create: () => Promise<QueueHarness>,
  options: QueueContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const settle = options.settleMs ?? 20_000;

  describe(`queue contract: ${name}`, () => {
    let harness: QueueHarness | null = null;
    const consumers: Consumer[] = [];
    const h = (): QueueHarness => {
      if (harness === null) throw new Error('[anon] [testing] the queue harness was not created');
      return harness;
    };
    beforeEach(async () => {
      harness = await create();
    }, timeout);
    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.stop();
      const done = harness;
      harness = null;
      await done?.cleanup();
    }, timeout);

    /** A consumer recording every batch it handled successfully. */
    const collect = (
      queue: QueueHarness['queue'],
      onBatch?: (batch: EventBatch, call: number) => Promise<void>,
    ) => {
      const handled: string[] = [];
      const batches: EventBatch[] = [];
      let calls = 0;
      const consumer = queue.consume(async (batch) => {
        calls += 1;
        await onBatch?.(batch, calls);
        batches.push(batch);
        for (const e of batch.events) handled.push(e.id);
      });
      consumers.push(consumer);
      return { handled, batches, consumer, calls: () => calls };
    };

    it(
      'every enqueued event is handled, in batches with an id',
      async () => {
        const { queue } = h();
        const events = makeEvents(300);
        const c = collect(queue);
        enqueueAll((e) => queue.enqueue(e), events);
        await queue.flush();
        expect(await waitFor(() => new Set(c.handled).size === events.length, settle)).toBe(true);
        expect(new Set(c.handled)).toEqual(new Set(events.map((e) => e.id)));
        for (const batch of c.batches) {
          expect(typeof batch.id).toBe('string');
          expect(batch.id).not.toBe('');
          expect(batch.events.length).toBeGreaterThan(0);
        }
        expect(queue.dropped()).toBe(0);
        expect(await waitFor(() => queue.depth() === 0, settle)).toBe(true);
      },
      timeout,
    );

    it.skipIf(options.order === false)(
      "one producer's events reach a single consumer in order",
      async () => {
        const { queue } = h();
        const events = makeEvents(200);
        const c = collect(queue);
        enqueueAll((e) => queue.enqueue(e), events);
        await queue.flush();
        expect(await waitFor(() => new Set(c.handled).size === events.length, settle)).toBe(true);
        const firstSeen = [...new Set(c.handled)];
        expect(firstSeen).toEqual(events.map((e) => e.id));
      },
      timeout,
    );

    it(
      'a handler that throws is retried: nothing is lost, and the final effect has no duplicate',
      async () => {
        const { queue } = h();
        const events = makeEvents(120);
        let failures = 0;
        const failed: string[] = [];
        const c = collect(queue, async (batch, call) => {
          if (call === 1 || call === 3) {
            failures += 1;
            for (const e of batch.events) failed.push(e.id);
            throw new Error(`handler failure ${call}`);
          }
        });
        enqueueAll((e) => queue.enqueue(e), events);
        await queue.flush();
        expect(await waitFor(() => new Set(c.handled).size === events.length, settle)).toBe(true);
        expect(failures).toBeGreaterThan(0);
        const effect = new Set(c.handled);
        expect(effect).toEqual(new Set(events.map((e) => e.id)));
        for (const id of failed) expect(effect.has(id)).toBe(true);
        expect(c.calls()).toBeGreaterThan(c.batches.length);
        expect(queue.dropped()).toBe(0);
      },
      timeout,
    );

    it(
      'a consumer stopped midway: a consumer of another instance takes the rest',
      async () => {
        const { queue } = h();
        const peer = await h().peer();
        const events = makeEvents(200);
        enqueueAll((e) => queue.enqueue(e), events);
        await queue.flush();
        // A slow handler, so the first consumer is still busy when it is stopped.
        const first = collect(queue, () => sleep(50));
        expect(await waitFor(() => first.handled.length > 0, settle)).toBe(true);
        await first.consumer.stop();
        const handledByFirst = first.calls();
        const late = makeEvents(30);
        enqueueAll((e) => queue.enqueue(e), late);
        await queue.flush();
        const second = collect(peer);
        const all = new Set([...events, ...late].map((e) => e.id));
        const union = () => new Set([...first.handled, ...second.handled]);
        expect(await waitFor(() => union().size === all.size, settle)).toBe(true);
        expect(union()).toEqual(all);
        expect(first.calls()).toBe(handledByFirst);
        for (const e of late) expect(second.handled).toContain(e.id);
      },
      timeout,
    );

    it.skipIf(options.capacity === undefined)(
      'bounded: enqueue beyond the bound drops and counts, and never throws',
      async () => {
        const { queue } = h();
        const capacity = options.capacity as number;
        const events = makeEvents(capacity + 25);
        expect(() => {
          for (const e of events) queue.enqueue([e]);
        }).not.toThrow();
        expect(queue.dropped()).toBeGreaterThanOrEqual(25);
        const c = collect(queue);
        await queue.flush();
        expect(
          await waitFor(() => new Set(c.handled).size + queue.dropped() === events.length, settle),
          `handled ${new Set(c.handled).size} + dropped ${queue.dropped()} of ${events.length}`,
        ).toBe(true);
      },
      timeout,
    );

    it(
      'depth counts events not yet acknowledged; flush resolves once they reached the backend',
      async () => {
        const { queue } = h();
        await queue.flush();
        const events = makeEvents(40);
        enqueueAll((e) => queue.enqueue(e), events);
        expect(queue.depth()).toBe(events.length);
        const c = collect(queue);
        await queue.flush();
        if (options.flushWaitsForHandler) expect(new Set(c.handled).size).toBe(events.length);
        expect(await waitFor(() => new Set(c.handled).size === events.length, settle)).toBe(true);
        expect(await waitFor(() => queue.depth() === 0, settle)).toBe(true);
      },
      timeout,
    );

    it(
      'close resolves, and enqueue after close neither throws nor delivers',
      async () => {
        const { queue } = h();
        const c = collect(queue);
        queue.enqueue(makeEvents(5));
        await queue.flush();
        expect(await waitFor(() => c.handled.length >= 5, settle)).toBe(true);
        await queue.close();
        const before = c.handled.length;
        expect(() => queue.enqueue(makeEvents(3))).not.toThrow();
        await sleep(100);
        expect(c.handled.length).toBe(before);
      },
      timeout,
    );
  });
}
