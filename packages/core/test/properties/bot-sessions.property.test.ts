import type { AnonEvent, DailyAggregate, EventBatch, SessionStep, Store } from '@anon/core';
import {
  applyMetric,
  applyView,
  countedViews,
  emptyAggregate,
  moveViewToBots,
  recomputeAggregates,
  removeMetric,
} from '@anon/core/adapter';
import { memoryHotStore, memoryStore } from '@anon/core/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  draft,
  FIREFOX,
  MIN,
  memoryRig,
  metric,
  navigation,
  pageView,
  RULES,
  T0,
} from '../engine-fixtures.js';

// DESIGN.md §4, Bots: "more than a configured rate of page views per visitor per minute" makes a bot, and bot
// views are "excluded from aggregates and reports by default, and counted on their own". Flagging is per
// session and retroactive (docs/semantics.md, "Bot sessions"): once flagged, every page view and metric of the
// session is a bot's, however the store receives the rows and the `botsession` event.

const RATE_RULES = { ...RULES, botMaxViewsPerMinute: 3 };

/** Aggregate rows with some count. */
const counted = (rows: DailyAggregate[]) =>
  rows.filter((row) => Object.values(row).some((value) => typeof value === 'number' && value !== 0));

/** Gaps that burst (several views a minute), read, or leave (past the session timeout). */
const gap = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20_000, max: 3 * MIN }) },
  { weight: 1, arbitrary: fc.integer({ min: 31 * MIN, max: 90 * MIN }) },
);

describe('bot sessions (property)', () => {
  it('moveViewToBots and removeMetric turn the rows of human rows into the rows of the same rows as bots', () => {
    const row = fc.record({
      path: fc.constantFrom('/', '/a'),
      visitorKey: fc.option(fc.constantFrom('k1', 'k2'), { nil: null }),
      authenticated: fc.boolean(),
      device: fc.constantFrom('mobile' as const, 'tablet' as const, 'desktop' as const),
      flagged: fc.boolean(),
      measure: fc.option(
        fc.record({
          metric: fc.constantFrom('time_on_page' as const, 'scroll_depth' as const, 'interactions' as const),
          value: fc.integer({ min: 0, max: 10_000 }),
        }),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
        const views = rows.map((r, i) =>
          pageView({
            id: `v${i}`,
            path: r.path,
            visitorKey: r.visitorKey,
            authenticated: r.authenticated,
            device: r.device,
          }),
        );
        const metrics = rows.flatMap((r, i) =>
          r.measure === null ? [] : [metric({ viewId: `v${i}`, path: r.path, ...r.measure, isBot: false })],
        );
        // Stored human, as a store's write path counts them…
        const byPath = new Map(['/', '/a'].map((path) => [path, emptyAggregate('2026-01-15', path)]));
        const humans = new Map<string, number>();
        for (const view of views) {
          const key = `${view.path} ${view.visitorKey}`;
          applyView(byPath.get(view.path)!, view, view.visitorKey !== null && !humans.has(key));
          humans.set(key, (humans.get(key) ?? 0) + 1);
        }
        for (const m of metrics) applyMetric(byPath.get(m.path)!, m);
        // …then the flagged ones moved to the bots, the visitor leaving with its last human view of the path.
        rows.forEach((r, i) => {
          if (!r.flagged) return;
          const view = views[i]!;
          const key = `${view.path} ${view.visitorKey}`;
          const left = (humans.get(key) ?? 0) - 1;
          humans.set(key, left);
          moveViewToBots(byPath.get(view.path)!, view, left === 0);
          for (const m of metrics) if (m.viewId === view.id) removeMetric(byPath.get(m.path)!, m);
        });
        const asBots = recomputeAggregates(
          views.map((v, i) => (rows[i]!.flagged ? { ...v, isBot: true } : v)),
          metrics.map((m) => (rows[Number(m.viewId.slice(1))]!.flagged ? { ...m, isBot: true } : m)),
        );
        const moved = [...byPath.values()].filter((r) => asBots.some((x) => x.path === r.path));
        expect(moved).toEqual(asBots);
      }),
      { numRuns: 300 },
    );
  });

  it('a session flagged by rate stays a bot session: every later view of it is a bot view, and it becomes one once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ visitor: fc.integer({ min: 0, max: 2 }), gap, bot: fc.boolean() }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (list) => {
          const hot = memoryHotStore();
          const clock = new Map<number, number>();
          const bySession = new Map<string, SessionStep[]>();
          for (const [i, v] of list.entries()) {
            const at = (clock.get(v.visitor) ?? T0) + v.gap;
            clock.set(v.visitor, at);
            const step = await hot.recordPageView(
              {
                visitorKey: `k${v.visitor}`,
                previousVisitorKey: null,
                // A crawler's own verdict, now and then: it makes a bot view, and a bot session.
                view: draft({ id: `v${i}`, at, isBot: v.bot && i % 7 === 0 }),
                newSessionId: `s${i}`,
                scopes: [],
              },
              RATE_RULES,
            );
            bySession.set(step.session.id, [...(bySession.get(step.session.id) ?? []), step]);
          }
          for (const steps of bySession.values()) {
            const firstBot = steps.findIndex((s) => s.isBot);
            // Human up to the first bot view, bot from it on.
            expect(steps.map((s) => s.isBot)).toEqual(steps.map((_, i) => firstBot >= 0 && i >= firstBot));
            // It became a bot session on that view, unless it started as one.
            expect(steps.map((s) => s.becameBot)).toEqual(
              steps.map((_, i) => firstBot > 0 && i === firstBot),
            );
            expect(steps.map((s) => s.session.isBot)).toEqual(steps.map((s) => s.isBot));
            expect(steps.map((s) => s.session.lastViewIsBot)).toEqual(steps.map((s) => s.isBot));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the memory store holds every row of a bot session as a bot, and its aggregates equal a recomputation from its rows, in any order and under replays', async () => {
    const stepArb = fc.record({
      visitor: fc.integer({ min: 0, max: 2 }),
      path: fc.constantFrom('/', '/a', '/b'),
      gap,
      userId: fc.option(fc.constant('u1'), { nil: null, freq: 3 }),
      // A reload burst now and then: views half a second apart push the visitor past the rate.
      repeat: fc.oneof(
        { weight: 3, arbitrary: fc.constant(1) },
        { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) },
      ),
    });
    let flaggedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 30 }),
        fc.infiniteStream(fc.nat()),
        async (steps, choices) => {
          // The tracker on the memory ports writes its batches in order; they are kept for the replays.
          const inOrder = memoryStore();
          const batches: EventBatch[] = [];
          const recording: Store = {
            ...inOrder,
            write(batch) {
              batches.push(structuredClone(batch));
              return inOrder.write(batch);
            },
          };
          const { tracker, clock } = memoryRig({ botMaxViewsPerMinute: 3, store: recording });
          for (const s of steps) {
            clock.advance(s.gap);
            const ip = `203.0.113.${s.visitor + 1}`;
            for (let r = 0; r < s.repeat; r++) {
              if (r > 0) clock.advance(500);
              tracker.track(navigation(s.path, { ip, ua: FIREFOX, userId: s.userId }));
            }
            await tracker.flush();
          }
          clock.advance(3 * 60 * MIN);
          await tracker.sweep();
          await tracker.close();

          // Every event again, shuffled, in batches of 1 to 4, some replayed, into a new store.
          const next = (n: number): number => choices.next().value % n;
          const events: AnonEvent[] = batches.flatMap((b) => b.events);
          for (let i = events.length - 1; i > 0; i--) {
            const j = next(i + 1);
            [events[i], events[j]] = [events[j] as AnonEvent, events[i] as AnonEvent];
          }
          const store = memoryStore();
          let written = 0;
          for (let i = 0; i < events.length; ) {
            const size = 1 + next(4);
            await store.write({ id: `b${written++}`, events: events.slice(i, i + size) });
            if (next(3) === 0) await store.write({ id: `r${written++}`, events: [events[next(i + 1)]!] });
            i += size;
            // At every moment, up to rows of zeros: a human metric counted before its view was stored leaves
            // one when its session is flagged (the recomputation has no row for a bot metric alone).
            const now = store.dump();
            expect(counted(now.aggregates)).toEqual(counted(recomputeAggregates(now.pageViews, now.metrics)));
          }

          const held = store.dump();
          expect(held.aggregates).toEqual(recomputeAggregates(held.pageViews, held.metrics));
          const reference = inOrder.dump();
          const byId = <T extends { id: string }>(rows: T[]) =>
            [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));
          expect(byId(held.pageViews)).toEqual(byId(reference.pageViews));
          expect(held.aggregates).toEqual(reference.aggregates);
          // Every row of a session flagged by a `botsession` event is a bot's; no other row changed.
          const flagged = new Set(held.botSessions);
          const eventSessions = events.flatMap((e) =>
            e.type === 'botsession' ? [e.botSession.sessionId] : [],
          );
          expect([...flagged].sort()).toEqual([...new Set(eventSessions)].sort());
          if (flagged.size > 0) flaggedRuns++;
          for (const view of held.pageViews) {
            if (flagged.has(view.sessionId!)) expect(view).toMatchObject({ isBot: true });
            if (flagged.has(view.sessionId!)) expect(view.botReasons).toContain('rate');
          }
          for (const metric of held.metrics)
            if (flagged.has(metric.sessionId!)) expect(metric.isBot).toBe(true);
          // A session's views are human up to the one that flagged it, bots from there: all bots once flagged.
          for (const session of held.sessions) {
            const views = held.pageViews.filter((v) => v.sessionId === session.id);
            expect(session.isBot).toBe(views.some((v) => v.isBot));
            if (session.isBot) expect(views.every((v) => v.isBot)).toBe(true);
          }
          // views = authenticated + anonymous in every row, with and without bots.
          for (const row of held.aggregates) {
            for (const includeBots of [false, true]) {
              const c = countedViews(row, includeBots);
              expect(c.authenticatedViews + c.anonymousViews).toBe(c.views);
              expect(c.authenticatedViews).toBeGreaterThanOrEqual(0);
              expect(c.anonymousViews).toBeGreaterThanOrEqual(0);
            }
          }
          const day = held.pageViews[0]?.day ?? '2026-01-15';
          for (const includeBots of [false, true]) {
            const q = { from: day, to: '2026-01-31', includeBots };
            for (const row of await store.topPages(q)) {
              expect(row.authenticatedViews + row.anonymousViews).toBe(row.views);
            }
            const overview = await store.overview(q);
            for (const d of [...overview.days, overview.total]) {
              expect(d.authenticatedViews + d.anonymousViews).toBe(d.pageViews);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
    // Not vacuous: the rate check flagged sessions in many runs.
    expect(flaggedRuns).toBeGreaterThan(10);
  });
});
