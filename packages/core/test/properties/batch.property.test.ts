import { createTracker, type HotStore, type Tracker } from '@anon/core';
import { memoryHotStore, memoryQueue, memoryStore } from '@anon/core/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countingIds,
  FIREFOX,
  fakeClock,
  IPHONE,
  MIN,
  navigation,
  silentLogger,
} from '../engine-fixtures.js';

/**
 * The memory hot store with its batch form replaced by the single form called once per view, in order: the
 * port's definition of `recordPageViews`, built from the real store's own methods (no stand-in behaviour).
 */
function singleFormOnly(): HotStore {
  const inner = memoryHotStore({ newSalt: () => 'salt' });
  return {
    ...inner,
    async recordPageViews(inputs, rules) {
      const steps = [];
      for (const input of inputs) steps.push(await inner.recordPageView(input, rules));
      return steps;
    },
  };
}

const ALL = { from: '2000-01-01', to: '2100-01-01' };

type Act =
  | { kind: 'view'; visitor: number; path: number; gapMs: number }
  | { kind: 'engage'; visitor: number; ms: number; gapMs: number }
  | { kind: 'flush' };

const act: fc.Arbitrary<Act> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('view' as const),
      visitor: fc.integer({ min: 0, max: 4 }),
      path: fc.integer({ min: 0, max: 5 }),
      gapMs: fc.oneof(fc.integer({ min: 0, max: 2 * MIN }), fc.integer({ min: 29 * MIN, max: 32 * MIN })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('engage' as const),
      visitor: fc.integer({ min: 0, max: 4 }),
      ms: fc.integer({ min: 0, max: 10 * MIN }),
      gapMs: fc.integer({ min: 0, max: MIN }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

/** Plays the same acts against a tracker whose hot store is `hot`; returns what the store ends up holding. */
async function play(hot: HotStore, acts: Act[]) {
  const clock = fakeClock();
  const store = memoryStore();
  const tracker: Tracker = createTracker({
    hot,
    store,
    queue: memoryQueue(),
    clock,
    ids: countingIds('id'),
    sweeper: false,
    logger: silentLogger(),
  });
  const lastView = new Map<number, string>();
  const who = (visitor: number) => ({
    ip: `198.51.100.${visitor}`,
    ua: visitor % 2 === 0 ? FIREFOX : IPHONE,
  });
  for (const a of acts) {
    if (a.kind === 'flush') {
      await tracker.flush();
      continue;
    }
    clock.advance(a.gapMs);
    if (a.kind === 'view') {
      const result = tracker.track(navigation(`/p${a.path}`, who(a.visitor)));
      if (result.viewId !== undefined) lastView.set(a.visitor, result.viewId);
    } else {
      const viewId = lastView.get(a.visitor) ?? 'none';
      tracker.beacon(
        { t: 'e', v: viewId, ms: a.ms, sd: 50 },
        navigation('/_anon/e', { method: 'POST', ...who(a.visitor) }),
      );
    }
  }
  clock.advance(40 * MIN);
  await tracker.sweep();
  await tracker.flush();
  const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((x, y) => (x.id < y.id ? -1 : 1));
  const dump = store.dump();
  const result = {
    sessions: byId(dump.sessions),
    pageViews: byId(dump.pageViews),
    metrics: [...dump.metrics].sort((x, y) =>
      `${x.viewId}${x.metric}`.localeCompare(`${y.viewId}${y.metric}`),
    ),
    topPages: await store.topPages(ALL),
    sessionsReport: await store.sessions(ALL),
    journeys: await store.journeys(ALL),
  };
  await tracker.close();
  return result;
}

describe('property: batch and single recording agree', () => {
  it('the same traffic gives identical sessions, page views, metrics and reports through recordPageViews as through recordPageView one by one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(act, { minLength: 1, maxLength: 60 }), async (acts) => {
        const batched = await play(memoryHotStore({ newSalt: () => 'salt' }), acts);
        const single = await play(singleFormOnly(), acts);
        expect(batched).toEqual(single);
        expect(batched.pageViews.length).toBe(acts.filter((a) => a.kind === 'view').length);
      }),
      { numRuns: 40 },
    );
  });
});
