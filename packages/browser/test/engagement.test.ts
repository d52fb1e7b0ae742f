import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engagementMeter } from '../src/script/engagement.js';

type Step = { at: number; kind: 'act' } | { at: number; kind: 'show'; visible: boolean };

/**
 * The definition, counted instant by instant on an integer grid: a millisecond is engaged when the page is
 * visible in it and some activity (the start, an act, a show) happened at most `idle` before it.
 */
function reference(idle: number, start: number, visibleAtStart: boolean, steps: Step[], end: number): number {
  let engaged = 0;
  let visible = visibleAtStart;
  let last = start;
  let i = 0;
  for (let t = start; t < end; t++) {
    while (i < steps.length && (steps[i] as Step).at <= t) {
      const step = steps[i] as Step;
      if (step.kind === 'act') last = step.at;
      else {
        visible = step.visible;
        if (step.visible) last = step.at;
      }
      i++;
    }
    if (visible && t < last + idle) engaged++;
  }
  return engaged;
}

const steps = fc
  .array(
    fc.oneof(
      fc.record({ at: fc.integer({ min: 0, max: 400 }), kind: fc.constant('act' as const) }),
      fc.record({
        at: fc.integer({ min: 0, max: 400 }),
        kind: fc.constant('show' as const),
        visible: fc.boolean(),
      }),
    ),
    { maxLength: 30 },
  )
  .map((list) => [...list].sort((a, b) => a.at - b.at));

describe('engaged time', () => {
  it('is the visible time within the idle window of an activity, whatever the order of events', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.boolean(),
        steps,
        fc.integer({ min: 0, max: 100 }),
        (idle, visible, list, tail) => {
          const meter = engagementMeter(idle, 0, visible);
          for (const step of list) {
            if (step.kind === 'act') meter.act(step.at);
            else meter.show(step.at, step.visible);
          }
          const end = (list.at(-1)?.at ?? 0) + tail;
          expect(meter.read(end)).toBe(reference(idle, 0, visible, list, end));
        },
      ),
    );
  });

  it('never exceeds the elapsed time, and never decreases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), steps, (idle, list) => {
        const meter = engagementMeter(idle, 0, true);
        let before = 0;
        for (const step of list) {
          if (step.kind === 'act') meter.act(step.at);
          else meter.show(step.at, step.visible);
          const now = meter.read(step.at);
          expect(now).toBeGreaterThanOrEqual(before);
          expect(now).toBeLessThanOrEqual(step.at);
          before = now;
        }
      }),
    );
  });

  it('a reader who stops touching the page is counted for the idle window only', () => {
    const meter = engagementMeter(15_000, 1_000, true);
    meter.act(4_000);
    expect(meter.read(60_000)).toBe(18_000);
  });

  it('a hidden page counts nothing until it is shown again', () => {
    const meter = engagementMeter(15_000, 0, true);
    meter.show(2_000, false);
    meter.act(3_000);
    meter.show(10_000, true);
    expect(meter.read(11_000)).toBe(3_000);
  });
});
