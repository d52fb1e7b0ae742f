import type { AnonEvent, PageView } from '@anon/core';
import {
  type AggregateAccumulator,
  accumulateView,
  emptyAccumulator,
  mergeAggregates,
  recomputeAggregates,
} from '@anon/core/adapter';
import { memoryStore } from '@anon/core/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FIREFOX,
  GOOGLEBOT,
  IPHONE,
  MIN,
  memoryRig,
  metric,
  navigation,
  pageView,
} from '../engine-fixtures.js';

const ALL = { from: '2000-01-01', to: '2100-01-01', limit: 10_000 };

const viewArb = (id: string) =>
  fc
    .record({
      day: fc.constantFrom('2026-01-14', '2026-01-15'),
      path: fc.constantFrom('/', '/a', '/b'),
      visitorKey: fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { nil: null }),
      isBot: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      userId: fc.option(fc.constant('u1'), { nil: null }),
      device: fc.constantFrom('mobile' as const, 'tablet' as const, 'desktop' as const),
    })
    .map((f): PageView => pageView({ id, ...f, authenticated: f.userId !== null }));

const metricArb = fc.record({
  viewId: fc.constantFrom('v0', 'v1', 'v2', 'v3', 'v4', 'v5'),
  metric: fc.constantFrom('time_on_page' as const, 'scroll_depth' as const, 'interactions' as const),
  value: fc.integer({ min: 0, max: 100_000 }),
  isBot: fc.boolean(),
  day: fc.constantFrom('2026-01-14', '2026-01-15'),
  path: fc.constantFrom('/', '/a', '/b'),
});

/**
 * A write history: distinct views and metrics (by id), then a sequence of writes that may repeat any of them,
 * cut into batches. A repeated id always carries the same content, as a replay does.
 */
const history = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 1e9 }), { minLength: 1, maxLength: 12 }),
    fc.uniqueArray(metricArb, { selector: (m) => `${m.viewId}:${m.metric}`, maxLength: 10 }),
  )
  .chain(([seeds, metricList]) =>
    fc
      .tuple(
        fc.tuple(...seeds.map((_, i) => viewArb(`v${i}`))),
        fc.constant(metricList.map((m) => metric({ ...m, sessionId: null, at: Date.UTC(2026, 0, 15) }))),
      )
      .chain(([views, metrics]) => {
        const events: AnonEvent[] = [
          ...views.map((view): AnonEvent => ({ type: 'pageview', id: view.id, view })),
          ...metrics.map((m): AnonEvent => ({ type: 'metric', id: `${m.viewId}:${m.metric}`, metric: m })),
        ];
        return fc.record({
          views: fc.constant(views),
          metrics: fc.constant(metrics),
          writes: fc.array(fc.constantFrom(...events), {
            minLength: events.length,
            maxLength: events.length * 2,
          }),
          cuts: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }),
        });
      }),
  );

function batches(writes: AnonEvent[], cuts: number[]): { id: string; events: AnonEvent[] }[] {
  const out: { id: string; events: AnonEvent[] }[] = [];
  let i = 0;
  let c = 0;
  while (i < writes.length) {
    const size = cuts[c % cuts.length] ?? 1;
    out.push({ id: `b${out.length}`, events: writes.slice(i, i + size) });
    i += size;
    c += 1;
  }
  return out;
}

function accOf(views: PageView[]): AggregateAccumulator {
  const acc = emptyAccumulator('2026-01-15', '/');
  for (const v of views) accumulateView(acc, v);
  return acc;
}

const rowAndVisitors = (a: AggregateAccumulator) => ({ row: a.row, visitors: [...a.visitors].sort() });

describe('aggregates (property)', () => {
  it('counts are conserved from page views to sessions to aggregates', async () => {
    const visitorArb = fc.record({
      ip: fc.constantFrom('203.0.113.1', '203.0.113.2', '198.51.100.9'),
      ua: fc.constantFrom(FIREFOX, IPHONE, GOOGLEBOT),
    });
    const stepArb = fc.record({
      visitor: visitorArb,
      path: fc.constantFrom('/', '/posts/1', '/posts/2', '/about'),
      wait: fc.oneof(fc.integer({ min: 0, max: 2 * MIN }), fc.integer({ min: 31 * MIN, max: 90 * MIN })),
      signedIn: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const { tracker, clock, store } = memoryRig();
        let tracked = 0;
        for (const s of steps) {
          clock.advance(s.wait);
          const result = tracker.track(
            navigation(s.path, { ip: s.visitor.ip, ua: s.visitor.ua, userId: s.signedIn ? 'u1' : null }),
          );
          if (result.tracked) tracked += 1;
          await tracker.flush();
        }
        clock.advance(2 * 60 * MIN);
        await tracker.sweep();
        await tracker.close();
        const dump = store.dump();
        expect(tracked).toBe(steps.length);
        // Every tracked request is one stored page view...
        expect(dump.pageViews.length).toBe(tracked);
        // ...each in exactly one session, whose page view counts add up to them...
        const sessioned = dump.pageViews.filter((v) => v.sessionId !== null);
        expect(sessioned.length).toBe(tracked);
        expect(dump.sessions.reduce((sum, s) => sum + s.pageViews, 0)).toBe(sessioned.length);
        // ...and each counted once in the aggregates: humans in views, bots in botViews.
        const humans = dump.pageViews.filter((v) => !v.isBot).length;
        expect(dump.aggregates.reduce((sum, r) => sum + r.views, 0)).toBe(humans);
        expect(dump.aggregates.reduce((sum, r) => sum + r.botViews, 0)).toBe(tracked - humans);
        expect(dump.aggregates.reduce((sum, r) => sum + r.authenticatedViews + r.anonymousViews, 0)).toBe(
          humans,
        );
      }),
      { numRuns: 40 },
    );
  });

  it('aggregates equal a brute-force recomputation', async () => {
    await fc.assert(
      fc.asyncProperty(history, async ({ views, metrics, writes, cuts }) => {
        const store = memoryStore();
        for (const batch of batches(writes, cuts)) await store.write(batch);
        const written = new Set(writes.map((e) => e.id));
        const expected = recomputeAggregates(
          views.filter((v) => written.has(v.id)),
          metrics.filter((m) => written.has(`${m.viewId}:${m.metric}`)),
        );
        expect(await store.aggregates(ALL)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('merge is associative with an identity and batch order does not matter', async () => {
    const viewsArb = fc.array(
      fc.integer({ min: 0, max: 1e9 }).chain((n) => viewArb(`v${n}`)),
      { maxLength: 15 },
    );
    await fc.assert(
      fc.asyncProperty(
        viewsArb,
        viewsArb,
        viewsArb,
        history,
        fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
        async (xs, ys, zs, { writes, cuts }, shuffle) => {
          // Same (day, path) for the monoid: accumulators merge per row.
          const one = (vs: PageView[]) => vs.map((v) => ({ ...v, day: '2026-01-15', path: '/' }));
          const [a, b, c] = [accOf(one(xs)), accOf(one(ys)), accOf(one(zs))];
          const empty = emptyAccumulator('2026-01-15', '/');
          expect(rowAndVisitors(mergeAggregates(mergeAggregates(a, b), c))).toEqual(
            rowAndVisitors(mergeAggregates(a, mergeAggregates(b, c))),
          );
          expect(rowAndVisitors(mergeAggregates(a, empty))).toEqual(rowAndVisitors(a));
          expect(rowAndVisitors(mergeAggregates(empty, a))).toEqual(rowAndVisitors(a));
          expect(rowAndVisitors(mergeAggregates(a, b))).toEqual(rowAndVisitors(mergeAggregates(b, a)));

          // The store: the same batches applied in another order give the same aggregate rows.
          const inOrder = batches(writes, cuts);
          const reordered = inOrder
            .map((batch, i) => ({ batch, key: shuffle[i] ?? 0 }))
            .sort((p, q) => p.key - q.key)
            .map((p) => p.batch);
          const s1 = memoryStore();
          const s2 = memoryStore();
          for (const batch of inOrder) await s1.write(batch);
          for (const batch of reordered) await s2.write(batch);
          expect(await s2.aggregates(ALL)).toEqual(await s1.aggregates(ALL));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('recomputation and the memory store agree on the order of arbitrary Unicode paths', async () => {
    // Astral characters (surrogate pairs) and U+E000–U+FFFF are where UTF-16 order and code-point order part.
    const unit = fc.oneof(
      fc.constantFrom('/', 'a', 'z', '~'),
      fc.integer({ min: 0xe000, max: 0xfffd }).map((c) => String.fromCodePoint(c)),
      fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
    );
    const pathArb = fc.string({ unit, minLength: 1, maxLength: 4 }).map((p) => `/${p}`);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(pathArb, { minLength: 2, maxLength: 12 }), async (paths) => {
        const views = paths.map((path, i) => pageView({ id: `v${i}`, path, visitorKey: `k${i}` }));
        const store = memoryStore();
        await store.write({
          id: 'b',
          events: views.map((view) => ({ type: 'pageview', id: view.id, view })),
        });
        const recomputed = recomputeAggregates(views, []);
        expect(recomputed.map((r) => r.path)).toEqual([...paths].sort(byCodePoint));
        expect(await store.aggregates(ALL)).toEqual(recomputed);
        expect(store.dump().aggregates).toEqual(recomputed);
      }),
      { numRuns: 200 },
    );
  });
});

/** Code-point order written the slow, obvious way: the reference the shared comparer must agree with. */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
