import type { SessionStep } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { draft, RULES, T0 } from '../engine-fixtures.js';

const TIMEOUT = RULES.sessionTimeoutMs;

/** Gaps that land on both sides of the timeout, and exactly on it, often. */
const gap = fc.oneof(
  fc.integer({ min: 0, max: 5 * 60_000 }),
  fc.integer({ min: TIMEOUT - 2, max: TIMEOUT + 2 }),
  fc.integer({ min: TIMEOUT + 1, max: 6 * TIMEOUT }),
);
const visits = fc.array(fc.record({ visitor: fc.integer({ min: 0, max: 3 }), gap }), {
  minLength: 1,
  maxLength: 40,
});

interface Recorded {
  viewId: string;
  visitor: string;
  at: number;
  gap: number | null;
  step: SessionStep;
}

/** Feeds the visits to the reference hot store (which applies `sessionize` atomically). */
async function record(list: { visitor: number; gap: number }[]): Promise<Recorded[]> {
  const hot = memoryHotStore();
  const last = new Map<string, number>();
  const out: Recorded[] = [];
  for (const [i, v] of list.entries()) {
    const visitor = `visitor-${v.visitor}`;
    const previous = last.get(visitor);
    const at = previous === undefined ? T0 + v.visitor * 1000 : previous + v.gap;
    last.set(visitor, at);
    const viewId = `view-${i}`;
    const step = await hot.recordPageView(
      {
        visitorKey: visitor,
        previousVisitorKey: null,
        view: draft({ id: viewId, at, path: `/p${i % 3}` }),
        newSessionId: `session-${i}`,
        scopes: [],
      },
      RULES,
    );
    out.push({ viewId, visitor, at, gap: previous === undefined ? null : at - previous, step });
  }
  return out;
}

describe('sessions (property)', () => {
  it("sessions partition each visitor's views", async () => {
    await fc.assert(
      fc.asyncProperty(visits, async (list) => {
        const recorded = await record(list);
        const bySession = new Map<string, Recorded[]>();
        for (const r of recorded) {
          const views = bySession.get(r.step.session.id) ?? [];
          views.push(r);
          bySession.set(r.step.session.id, views);
        }
        // Every view is in exactly one session, and the sessions together hold every view.
        expect([...bySession.values()].flat().length).toBe(list.length);
        const visitorsSessions = new Map<string, string[]>();
        for (const [sessionId, views] of bySession) {
          // A session belongs to one visitor, numbers its views 1..n in order, and counts them all.
          expect(new Set(views.map((v) => v.visitor)).size).toBe(1);
          expect(views.map((v) => v.step.seq)).toEqual(views.map((_, i) => i + 1));
          expect(views.at(-1)?.step.session.pageViews).toBe(views.length);
          const visitor = views[0]!.visitor;
          visitorsSessions.set(visitor, [...(visitorsSessions.get(visitor) ?? []), sessionId]);
        }
        // Within a visitor, sessions are contiguous runs: once a session ends, none of its views come later.
        for (const visitor of visitorsSessions.keys()) {
          const sequence = recorded.filter((r) => r.visitor === visitor).map((r) => r.step.session.id);
          const runs = sequence.filter((id, i) => i === 0 || sequence[i - 1] !== id);
          expect(new Set(runs).size).toBe(runs.length);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a gap above the timeout starts a new session and only then', async () => {
    await fc.assert(
      fc.asyncProperty(visits, async (list) => {
        const recorded = await record(list);
        for (const r of recorded) {
          if (r.gap === null) {
            expect(r.step.isNew).toBe(true);
            expect(r.step.ended).toBeNull();
            continue;
          }
          expect(r.step.isNew).toBe(r.gap > TIMEOUT);
          // The session a gap ends is handed back once, to be finalized, with its last view where it was.
          if (r.step.isNew) expect(r.step.ended?.lastSeenAt).toBe(r.at - r.gap);
          else expect(r.step.previousView?.timeOnPageMs).toBe(r.gap);
        }
      }),
      { numRuns: 150 },
    );
  });
});
