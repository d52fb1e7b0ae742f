import {
  type HotSession,
  type HotStore,
  isAnonError,
  type Millis,
  type RecordInput,
  type SessionRules,
  type SessionStep,
  sessionize,
  type ViewDraft,
} from '@anon/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, FIXTURE_NOW, fixtureId, fixtureView, fixtureVisitorKey } from './fixtures.js';
import type { HotStoreHarness } from './harness.js';

/** What a hot store under test cannot do, and how hard the suite pushes it. */
export interface HotStoreContractOptions {
  /** Runs of the property test against `sessionize`. @default 30 */
  numRuns?: number;
  /** Idle sessions the concurrent claimers share. @default 1_000 */
  claimSessions?: number;
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
}

/** Rules with a low rate limit so the property test reaches rate bots with few views. */
export const CONTRACT_RULES: Readonly<SessionRules> = Object.freeze({
  sessionTimeoutMs: 30 * 60_000,
  persistEvery: 3,
  botMaxViewsPerMinute: 4,
  realtimeWindowMs: 5 * 60_000,
});

const TIMEOUT = CONTRACT_RULES.sessionTimeoutMs;

/** A view draft at `at` (a page view before the hot store places it in a session). */
export function draftAt(at: Millis, overrides: Partial<ViewDraft> = {}): ViewDraft {
  const { sessionId: _s, seq: _q, visitorKey: _v, ...draft } = fixtureView({ at, ...overrides });
  return draft;
}

function input(visitorKey: string, view: ViewDraft, extra: Partial<RecordInput> = {}): RecordInput {
  return {
    visitorKey,
    previousVisitorKey: null,
    view,
    newSessionId: fixtureId(view.at),
    scopes: [],
    ...extra,
  };
}

/**
 * Registers the hot store contract as a vitest `describe` block. `create` is called once per test and must
 * return an empty hot store, a way to open a second instance on the same backend, and a probe.
 * @example
 * hotStoreContract('redis', async () => {
 *   const prefix = `t${Date.now()}:`;
 *   return { hot: redisHotStore(redis, { prefix }), peer: async () => redisHotStore(redis2, { prefix }), probe, cleanup };
 * });
 */
export function hotStoreContract(
  name: string,
  create: () => Promise<HotStoreHarness>,
  options: HotStoreContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const numRuns = options.numRuns ?? 30;
  const claimSessions = options.claimSessions ?? 1_000;

  describe(`hot store contract: ${name}`, () => {
    let harness: HotStoreHarness | null = null;
    const h = (): HotStoreHarness => {
      if (harness === null) throw new Error('[anon] [testing] the hot store harness was not created');
      return harness;
    };
    beforeEach(async () => {
      harness = await create();
    }, timeout);
    afterEach(async () => {
      const done = harness;
      harness = null;
      await done?.cleanup();
    }, timeout);

    it(
      'recordPageView agrees with the pure sessionize reducer over random view sequences',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        // Gaps land on both sides of the timeout, and inside one minute to reach the rate limit.
        const gap = fc.oneof(
          fc.integer({ min: 0, max: 15_000 }),
          fc.integer({ min: 0, max: 10 * 60_000 }),
          fc.constantFrom(TIMEOUT - 1, TIMEOUT, TIMEOUT + 1, TIMEOUT + 30_000),
        );
        const viewArb = fc.record({
          gap,
          path: fc.constantFrom('/', '/posts/:id', '/pricing', '/signup'),
          isBot: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          userId: fc.option(fc.constantFrom('user-1', 'user-2'), { freq: 3 }),
          viaPeer: fc.boolean(),
          device: fc.constantFrom('mobile', 'desktop', 'tablet') as fc.Arbitrary<
            'mobile' | 'desktop' | 'tablet'
          >,
        });
        // Time only moves forward, across runs too (shrinking included): a backend may forget the past.
        let clock = FIXTURE_NOW;
        await fc.assert(
          fc.asyncProperty(fc.array(viewArb, { minLength: 1, maxLength: 20 }), async (views) => {
            const visitorKey = fixtureVisitorKey();
            let model: HotSession | null = null;
            const minutes = new Map<number, number>();
            clock += 2 * TIMEOUT;
            let at = clock;
            for (const v of views) {
              at += v.gap;
              const view = draftAt(at, {
                path: v.path,
                url: v.path,
                isBot: v.isBot,
                botReasons: v.isBot ? ['user-agent'] : [],
                userId: v.userId,
                authenticated: v.userId !== null,
                device: v.device,
              });
              const minute = Math.floor(at / 60_000);
              const count = (minutes.get(minute) ?? 0) + 1;
              minutes.set(minute, count);
              const req = input(visitorKey, view);
              const expected = sessionize(
                model,
                { view, visitorKey, newSessionId: req.newSessionId, viewsThisMinute: count },
                CONTRACT_RULES,
              );
              const actual = await (v.viaPeer ? peer : hot).recordPageView(req, CONTRACT_RULES);
              expect(actual).toEqual(expected);
              model = expected.session;
            }
            clock = at;
          }),
          { numRuns },
        );
      },
      timeout,
    );

    it(
      'recordPageViews gives the steps and final state of recordPageView called one by one, on random traffic',
      async () => {
        const { hot: batched } = h();
        // The reference: a fresh store of the same kind, fed the same views one call each.
        const single = await create();
        try {
          const gap = fc.oneof(
            fc.integer({ min: 0, max: 15_000 }),
            fc.integer({ min: 0, max: 10 * 60_000 }),
            fc.constantFrom(TIMEOUT - 1, TIMEOUT, TIMEOUT + 1),
          );
          const viewArb = fc.record({
            visitor: fc.integer({ min: 0, max: 3 }),
            // Yesterday's key alone, today's key continuing yesterday's session, or today's key alone.
            key: fc.constantFrom('yesterday', 'continued', 'today'),
            gap,
            path: fc.constantFrom('/', '/posts/:id', '/pricing'),
            isBot: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
            userId: fc.option(fc.constantFrom('user-1', 'user-2'), { freq: 3 }),
            scopes: fc.constantFrom<string[]>([], ['community:a'], ['page:/x', 'community:b']),
          });
          let clock = FIXTURE_NOW;
          await fc.assert(
            fc.asyncProperty(
              fc.array(viewArb, { minLength: 1, maxLength: 40 }),
              fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 8 }),
              async (views, sizes) => {
                const visitors = Array.from({ length: 4 }, () => ({
                  yesterday: fixtureVisitorKey(),
                  today: fixtureVisitorKey(),
                }));
                const ours = new Set(visitors.flatMap((v) => [v.yesterday, v.today]));
                clock += 2 * TIMEOUT;
                let at = clock;
                const inputs = views.map((v) => {
                  at += v.gap;
                  const keys = visitors[v.visitor] as { yesterday: string; today: string };
                  const view = draftAt(at, {
                    path: v.path,
                    url: v.path,
                    isBot: v.isBot,
                    botReasons: v.isBot ? ['user-agent'] : [],
                    userId: v.userId,
                    authenticated: v.userId !== null,
                  });
                  return input(v.key === 'yesterday' ? keys.yesterday : keys.today, view, {
                    previousVisitorKey: v.key === 'continued' ? keys.yesterday : null,
                    scopes: v.scopes,
                  });
                });
                const expected: SessionStep[] = [];
                for (const req of inputs) expected.push(await single.hot.recordPageView(req, CONTRACT_RULES));
                const actual: SessionStep[] = [];
                for (let i = 0, b = 0; i < inputs.length; b++) {
                  const size = sizes[b % sizes.length] as number;
                  actual.push(...(await batched.recordPageViews(inputs.slice(i, i + size), CONTRACT_RULES)));
                  i += size;
                }
                expect(actual).toEqual(expected);

                // The same state: real-time sets, then every session still held, claimed and completed.
                const window = CONTRACT_RULES.realtimeWindowMs;
                for (const scope of [undefined, 'community:a', 'page:/x', 'community:b']) {
                  expect(await batched.activeVisitors(at, window, scope)).toEqual(
                    await single.hot.activeVisitors(at, window, scope),
                  );
                }
                const end = at + TIMEOUT + 1;
                const drain = async (store: HotStore): Promise<HotSession[]> => {
                  const all: HotSession[] = [];
                  for (;;) {
                    const got = await store.claimExpired(end, CONTRACT_RULES, 100, 60_000);
                    if (got.length === 0) break;
                    all.push(...got);
                  }
                  await store.complete(all.map((s) => s.id));
                  // Only this run's visitors: a failed earlier run may have left sessions (they are drained too).
                  return all
                    .filter((s) => ours.has(s.visitorKey))
                    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
                };
                expect(await drain(batched)).toEqual(await drain(single.hot));
                clock = end;
              },
            ),
            { numRuns },
          );
        } finally {
          await single.cleanup();
        }
      },
      timeout,
    );

    it(
      'recordPageViews checks every input first: one invalid input rejects with invalid_input and applies nothing',
      async () => {
        const { hot, probe } = h();
        const window = CONTRACT_RULES.realtimeWindowMs;
        const good = [
          input(fixtureVisitorKey(), draftAt(FIXTURE_NOW)),
          input(fixtureVisitorKey(), draftAt(FIXTURE_NOW + 1_000)),
        ];
        const bad: RecordInput[] = [
          input('', draftAt(FIXTURE_NOW + 2_000)),
          input(fixtureVisitorKey(), { ...draftAt(FIXTURE_NOW + 2_000), at: Number.NaN }),
          { ...input(fixtureVisitorKey(), draftAt(FIXTURE_NOW + 2_000)), newSessionId: '' },
        ];
        for (const wrong of bad) {
          await expect(hot.recordPageViews([...good, wrong], CONTRACT_RULES)).rejects.toSatisfy((e) =>
            isAnonError(e, 'invalid_input'),
          );
        }
        expect(await probe.sessionCount()).toBe(0);
        expect(await hot.activeVisitors(FIXTURE_NOW + 1_000, window)).toMatchObject({ total: 0 });
        // Nothing was counted either: the same views now start sessions at the first view of the minute.
        const steps = await hot.recordPageViews(good, CONTRACT_RULES);
        expect(steps.map((s) => [s.isNew, s.seq, s.viewsThisMinute])).toEqual([
          [true, 1, 1],
          [true, 1, 1],
        ]);
        expect(await hot.recordPageViews([], CONTRACT_RULES)).toEqual([]);
      },
      timeout,
    );

    it(
      'one salt per period for every instance; the previous one while it exists',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const now = FIXTURE_NOW;
        const period = Math.floor(now / DAY_MS);
        const [a, b] = await Promise.all([hot.salt(now), peer.salt(now)]);
        expect(a.current).toMatch(/^[0-9a-f]{64}$/);
        expect(b).toEqual(a);
        expect(a.period).toBe(period);
        expect((await peer.salt(now + 5 * 3_600_000)).current).toBe(a.current);
        const next = await peer.salt(now + DAY_MS);
        expect(next.period).toBe(period + 1);
        expect(next.current).toMatch(/^[0-9a-f]{64}$/);
        expect(next.current).not.toBe(a.current);
        expect(next.previous).toBe(a.current);
        expect(await hot.salt(now + DAY_MS + 1_000)).toEqual(next);
        // Period + 2 was never asked for, so period + 3 has no previous salt.
        const later = await hot.salt(now + 3 * DAY_MS);
        expect(later.previous).toBeNull();
        expect([a.current, next.current]).not.toContain(later.current);
      },
      timeout,
    );

    it(
      'the rate counter gives the views of the visitor in the current minute',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const key = fixtureVisitorKey();
        const other = fixtureVisitorKey();
        const minute = Math.floor(FIXTURE_NOW / 60_000) * 60_000;
        const counts: number[] = [];
        for (const [store, k, at] of [
          [hot, key, minute],
          [peer, key, minute + 10_000],
          [hot, other, minute + 20_000],
          [hot, key, minute + 59_999],
          [peer, key, minute + 60_000],
        ] as [HotStore, string, number][]) {
          counts.push((await store.recordPageView(input(k, draftAt(at)), CONTRACT_RULES)).viewsThisMinute);
        }
        expect(counts).toEqual([1, 2, 1, 3, 1]);
        // Past the limit, the view is a bot by rate, and so is its session.
        let step: SessionStep | null = null;
        for (let i = 0; i < CONTRACT_RULES.botMaxViewsPerMinute + 1; i++) {
          step = await hot.recordPageView(input(other, draftAt(minute + 120_000 + i)), CONTRACT_RULES);
        }
        expect(step?.viewsThisMinute).toBe(CONTRACT_RULES.botMaxViewsPerMinute + 1);
        expect(step?.isBot).toBe(true);
        expect(step?.session.isBot).toBe(true);
      },
      timeout,
    );

    it(
      'a session flagged by rate stays a bot session: its later views are bot views, kept out of real time',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const key = fixtureVisitorKey();
        const minute = Math.floor(FIXTURE_NOW / 60_000) * 60_000;
        const steps: SessionStep[] = [];
        for (let i = 0; i <= CONTRACT_RULES.botMaxViewsPerMinute; i++) {
          steps.push(await hot.recordPageView(input(key, draftAt(minute + i * 1_000)), CONTRACT_RULES));
        }
        const flagged = CONTRACT_RULES.botMaxViewsPerMinute;
        // Only the view past the limit turns the human session into a bot session.
        expect(steps.map((s) => s.becameBot)).toEqual(steps.map((_, i) => i === flagged));
        expect(steps.map((s) => s.isBot)).toEqual(steps.map((_, i) => i === flagged));
        // Two minutes later the rate is far under the limit, from another instance: still a bot view.
        const later = draftAt(minute + 120_000, { path: '/later' });
        const next = await peer.recordPageView(
          input(key, later, { scopes: ['community:bots'] }),
          CONTRACT_RULES,
        );
        expect(next).toMatchObject({ isNew: false, isBot: true, becameBot: false, viewsThisMinute: 1 });
        expect(next.session).toMatchObject({ isBot: true, lastViewIsBot: true });
        expect(next.previousView?.isBot).toBe(true);
        // The beacon learns the last view is a bot's; the real-time sets never saw it.
        expect(await hot.engage(key, later.id, null, later.at)).toMatchObject({ isBot: true });
        const none = { total: 0, authenticated: 0, anonymous: 0 };
        expect(await hot.activeVisitors(later.at, 60_000)).toEqual(none);
        expect(await hot.activeVisitors(later.at, 60_000, 'community:bots')).toEqual(none);
        // A session that starts as a bot (its user agent) did not become one.
        const crawler = await hot.recordPageView(
          input(fixtureVisitorKey(), draftAt(minute, { isBot: true, botReasons: ['user-agent'] })),
          CONTRACT_RULES,
        );
        expect(crawler).toMatchObject({ isNew: true, isBot: true, becameBot: false });
        // Past the timeout the visitor starts a new session, human again.
        const fresh = await hot.recordPageView(
          input(key, draftAt(later.at + CONTRACT_RULES.sessionTimeoutMs + 1)),
          CONTRACT_RULES,
        );
        expect(fresh).toMatchObject({ isNew: true, isBot: false, becameBot: false });
      },
      timeout,
    );

    it(
      'concurrent first views of one visitor from two instances make one session',
      async () => {
        const { hot, probe } = h();
        const peer = await h().peer();
        const visitors = Array.from({ length: 20 }, () => fixtureVisitorKey());
        for (const key of visitors) {
          const steps = await Promise.all([
            hot.recordPageView(input(key, draftAt(FIXTURE_NOW)), CONTRACT_RULES),
            peer.recordPageView(input(key, draftAt(FIXTURE_NOW)), CONTRACT_RULES),
          ]);
          const [x, y] = steps as [SessionStep, SessionStep];
          expect(steps.filter((s) => s.isNew)).toHaveLength(1);
          expect(x.session.id).toBe(y.session.id);
          expect([x.seq, y.seq].sort()).toEqual([1, 2]);
          expect(x.ended).toBeNull();
          expect(y.ended).toBeNull();
        }
        expect(await probe.sessionCount()).toBe(visitors.length);
      },
      timeout,
    );

    it(
      'a session continues under the new visitor key when the previous key is given',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const yesterdayKey = fixtureVisitorKey();
        const todayKey = fixtureVisitorKey();
        const first = await hot.recordPageView(input(yesterdayKey, draftAt(FIXTURE_NOW)), CONTRACT_RULES);
        const moved = await peer.recordPageView(
          input(todayKey, draftAt(FIXTURE_NOW + 60_000), { previousVisitorKey: yesterdayKey }),
          CONTRACT_RULES,
        );
        expect(moved.isNew).toBe(false);
        expect(moved.session.id).toBe(first.session.id);
        expect(moved.seq).toBe(2);
        expect(moved.session.visitorKey).toBe(todayKey);
        const third = await hot.recordPageView(
          input(todayKey, draftAt(FIXTURE_NOW + 120_000)),
          CONTRACT_RULES,
        );
        expect(third.session.id).toBe(first.session.id);
        expect(third.seq).toBe(3);
        // The session moved: the old key has none left to end.
        const old = await hot.recordPageView(
          input(yesterdayKey, draftAt(FIXTURE_NOW + 180_000)),
          CONTRACT_RULES,
        );
        expect(old.isNew).toBe(true);
        expect(old.ended).toBeNull();
      },
      timeout,
    );

    it(
      'engage records engaged time only on the last view of the live session',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const key = fixtureVisitorKey();
        const v1 = draftAt(FIXTURE_NOW, { path: '/a' });
        const v2 = draftAt(FIXTURE_NOW + 30_000, { path: '/b' });
        await hot.recordPageView(input(key, v1), CONTRACT_RULES);
        const step = await hot.recordPageView(input(key, v2), CONTRACT_RULES);
        expect(await hot.engage(key, v1.id, 5_000, FIXTURE_NOW + 40_000)).toBeNull();
        expect(await hot.engage(fixtureVisitorKey(), v2.id, 5_000, FIXTURE_NOW + 40_000)).toBeNull();
        const expected = { sessionId: step.session.id, day: v2.day, at: v2.at, path: '/b', isBot: false };
        expect(await peer.engage(key, v2.id, 5_000, FIXTURE_NOW + 40_000)).toEqual(expected);
        expect(await hot.engage(key, v2.id, 3_000, FIXTURE_NOW + 41_000)).toEqual(expected);
        expect(await hot.engage(key, v2.id, null, FIXTURE_NOW + 42_000)).toEqual(expected);
        const claimAt = v2.at + TIMEOUT + 1;
        const [claimed] = await hot.claimExpired(claimAt, CONTRACT_RULES, 10, 60_000);
        expect(claimed?.lastEngagedMs).toBe(5_000);
      },
      timeout,
    );

    it(
      'identify sets the user on the live session, and later views keep it',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const key = fixtureVisitorKey();
        expect(await hot.identify(key, 'user-1', FIXTURE_NOW)).toBeNull();
        const first = await hot.recordPageView(input(key, draftAt(FIXTURE_NOW)), CONTRACT_RULES);
        const identified = await peer.identify(key, 'user-1', FIXTURE_NOW + 1_000);
        expect(identified).toEqual({ ...first.session, userId: 'user-1' });
        const next = await hot.recordPageView(input(key, draftAt(FIXTURE_NOW + 2_000)), CONTRACT_RULES);
        expect(next.session.userId).toBe('user-1');
        expect(next.session.id).toBe(first.session.id);
      },
      timeout,
    );

    it(
      'activeVisitors counts distinct non-bot visitors in (now − window, now], overall and per scope',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const now = FIXTURE_NOW;
        const window = CONTRACT_RULES.realtimeWindowMs;
        const [a, b, c, d, e] = Array.from({ length: 5 }, () => fixtureVisitorKey()) as [
          string,
          string,
          string,
          string,
          string,
        ];
        const record = (store: HotStore, key: string, at: number, scopes: string[] = [], isBot = false) =>
          store.recordPageView(
            input(key, draftAt(at, { isBot, botReasons: isBot ? ['user-agent'] : [] }), { scopes }),
            CONTRACT_RULES,
          );
        await record(hot, a, now - window); // on the open edge: out
        await record(peer, b, now - window + 1, ['community:paris']);
        await record(hot, c, now, ['community:paris', 'page:/posts/:id']);
        await record(peer, d, now, ['community:paris'], true); // a bot: never counted
        await record(hot, b, now - 1_000, ['community:paris']);
        await record(hot, e, now + 1_000); // after `now`: out
        expect(await hot.activeVisitors(now, window)).toMatchObject({ total: 2 });
        expect(await peer.activeVisitors(now, window)).toMatchObject({ total: 2 });
        expect(await hot.activeVisitors(now, window, 'community:paris')).toMatchObject({ total: 2 });
        expect(await peer.activeVisitors(now, window, 'page:/posts/:id')).toMatchObject({ total: 1 });
        expect(await hot.activeVisitors(now, window, 'community:tokyo')).toMatchObject({ total: 0 });
        expect(await hot.activeVisitors(now, 1_000)).toMatchObject({ total: 1 });
        expect(await hot.activeVisitors(now + 2_000, window)).toMatchObject({ total: 3 });
      },
      timeout,
    );

    it(
      'activeVisitors splits visitors into authenticated (a view with a user id in the window) and anonymous',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const now = FIXTURE_NOW;
        const window = CONTRACT_RULES.realtimeWindowMs;
        const [a, b, c, d] = Array.from({ length: 4 }, () => fixtureVisitorKey()) as [
          string,
          string,
          string,
          string,
        ];
        const record = (
          store: HotStore,
          key: string,
          at: number,
          userId: string | null,
          scopes: string[] = [],
        ) => store.recordPageView(input(key, draftAt(at, { userId }), { scopes }), CONTRACT_RULES);
        await record(hot, a, now - 2_000, null, ['community:paris']);
        await record(peer, a, now - 1_000, 'user-a', ['community:paris']); // signed in: authenticated now
        await record(hot, b, now - 3_000, 'user-b', ['community:paris']);
        await record(peer, b, now - 500, null); // signed out later, still had an authenticated view
        await record(hot, c, now - 100, null, ['community:paris']);
        await record(peer, d, now - window, 'user-d'); // on the open edge: out
        expect(await hot.activeVisitors(now, window)).toEqual({ total: 3, authenticated: 2, anonymous: 1 });
        expect(await peer.activeVisitors(now, window, 'community:paris')).toEqual({
          total: 3,
          authenticated: 2,
          anonymous: 1,
        });
        // b's authenticated view (now − 3 s) is outside a 2.5 s window; its anonymous one is in it.
        expect(await hot.activeVisitors(now, 2_500)).toEqual({ total: 3, authenticated: 1, anonymous: 2 });
        expect(await hot.activeVisitors(now, window, 'community:tokyo')).toEqual({
          total: 0,
          authenticated: 0,
          anonymous: 0,
        });
      },
      timeout,
    );

    it(
      `claimExpired: three concurrent claimers over ${claimSessions} idle sessions claim each exactly once`,
      async () => {
        const { hot, probe } = h();
        const claimers = [hot, await h().peer(), await h().peer()];
        const ids: string[] = [];
        for (let i = 0; i < claimSessions; i += 100) {
          const chunk = Array.from({ length: Math.min(100, claimSessions - i) }, (_, j) =>
            hot.recordPageView(input(fixtureVisitorKey(), draftAt(FIXTURE_NOW + i + j)), CONTRACT_RULES),
          );
          for (const step of await Promise.all(chunk)) ids.push(step.session.id);
        }
        expect(await probe.sessionCount()).toBe(claimSessions);
        const now = FIXTURE_NOW + claimSessions + TIMEOUT + 1;
        const perClaimer = await Promise.all(
          claimers.map(async (claimer) => {
            const got: string[] = [];
            for (;;) {
              const batch = await claimer.claimExpired(now, CONTRACT_RULES, 37, 60_000);
              if (batch.length === 0) return got;
              for (const s of batch) got.push(s.id);
            }
          }),
        );
        const all = perClaimer.flat();
        expect(all).toHaveLength(claimSessions);
        expect(new Set(all)).toEqual(new Set(ids));
      },
      timeout,
    );

    it(
      'claimExpired returns only sessions idle past the timeout, oldest first, up to the limit',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const steps: SessionStep[] = [];
        for (const offset of [4_000, 1_000, 3_000, 0, 2_000]) {
          steps.push(
            await hot.recordPageView(
              input(fixtureVisitorKey(), draftAt(FIXTURE_NOW + offset)),
              CONTRACT_RULES,
            ),
          );
        }
        const now = FIXTURE_NOW + 3_000 + TIMEOUT; // the session at +3 000 is idle exactly the timeout: not yet
        await hot.recordPageView(input(fixtureVisitorKey(), draftAt(now)), CONTRACT_RULES);
        const byAge = [...steps]
          .sort((a, b) => a.session.lastSeenAt - b.session.lastSeenAt)
          .map((s) => s.session);
        expect(await hot.claimExpired(now, CONTRACT_RULES, 2, 60_000)).toEqual(byAge.slice(0, 2));
        expect(await peer.claimExpired(now, CONTRACT_RULES, 10, 60_000)).toEqual(byAge.slice(2, 3));
        expect(await hot.claimExpired(now, CONTRACT_RULES, 10, 60_000)).toEqual([]);
        expect(await hot.claimExpired(now, CONTRACT_RULES, 0, 60_000)).toEqual([]);
      },
      timeout,
    );

    it(
      'a lease that runs out without complete makes the session claimable again',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const step = await hot.recordPageView(
          input(fixtureVisitorKey(), draftAt(FIXTURE_NOW)),
          CONTRACT_RULES,
        );
        const now = FIXTURE_NOW + TIMEOUT + 1;
        const lease = 10_000;
        expect((await hot.claimExpired(now, CONTRACT_RULES, 10, lease)).map((s) => s.id)).toEqual([
          step.session.id,
        ]);
        expect(await peer.claimExpired(now + lease / 2, CONTRACT_RULES, 10, lease)).toEqual([]);
        expect(
          (await peer.claimExpired(now + lease + 1, CONTRACT_RULES, 10, lease)).map((s) => s.id),
        ).toEqual([step.session.id]);
      },
      timeout,
    );

    it(
      'complete removes sessions for good',
      async () => {
        const { hot, probe } = h();
        const key = fixtureVisitorKey();
        const step = await hot.recordPageView(input(key, draftAt(FIXTURE_NOW)), CONTRACT_RULES);
        await hot.recordPageView(input(fixtureVisitorKey(), draftAt(FIXTURE_NOW)), CONTRACT_RULES);
        expect(await probe.sessionCount()).toBe(2);
        const now = FIXTURE_NOW + TIMEOUT + 1;
        const claimed = await hot.claimExpired(now, CONTRACT_RULES, 1, 1_000);
        await hot.complete(claimed.map((s) => s.id));
        expect(await probe.sessionCount()).toBe(1);
        const remaining = await hot.claimExpired(now + 5_000, CONTRACT_RULES, 10, 1_000);
        expect(remaining).toHaveLength(1);
        expect(remaining.map((s) => s.id)).not.toContain(claimed[0]?.id);
        await hot.complete(remaining.map((s) => s.id));
        await hot.complete([fixtureId()]); // unknown ids are fine
        expect(await probe.sessionCount()).toBe(0);
        const again = await hot.recordPageView(input(key, draftAt(now + 10_000)), CONTRACT_RULES);
        expect(again.isNew).toBe(true);
        expect(again.ended).toBeNull();
        expect(again.session.id).not.toBe(step.session.id);
      },
      timeout,
    );

    it(
      'a new view ends an idle session exactly once, unless a sweeper has claimed it',
      async () => {
        const { hot } = h();
        const peer = await h().peer();
        const claimedKey = fixtureVisitorKey();
        const idleKey = fixtureVisitorKey();
        const older = await hot.recordPageView(input(claimedKey, draftAt(FIXTURE_NOW)), CONTRACT_RULES);
        const idle = await hot.recordPageView(input(idleKey, draftAt(FIXTURE_NOW + 1)), CONTRACT_RULES);
        const later = FIXTURE_NOW + TIMEOUT + 10_000;
        // A sweeper claims the older session only: it owns its finalization from now on.
        const claimed = await peer.claimExpired(later, CONTRACT_RULES, 1, 60_000);
        expect(claimed.map((s) => s.id)).toEqual([older.session.id]);
        const afterClaim = await hot.recordPageView(input(claimedKey, draftAt(later)), CONTRACT_RULES);
        expect(afterClaim.isNew).toBe(true);
        expect(afterClaim.ended).toBeNull();
        const afterIdle = await peer.recordPageView(input(idleKey, draftAt(later + 1)), CONTRACT_RULES);
        expect(afterIdle.isNew).toBe(true);
        expect(afterIdle.ended).toEqual(idle.session);
        // It left the expiry index: no sweeper gets it, now or once new leases run out.
        const sweep = await hot.claimExpired(later + 2, CONTRACT_RULES, 100, 60_000);
        expect(sweep.map((s) => s.id)).not.toContain(idle.session.id);
      },
      timeout,
    );

    it(
      'every key the backend holds expires (probe.keysWithoutExpiry is empty after a workload)',
      async () => {
        const { hot, probe } = h();
        const peer = await h().peer();
        await hot.salt(FIXTURE_NOW);
        await peer.salt(FIXTURE_NOW + DAY_MS);
        const keys = Array.from({ length: 10 }, () => fixtureVisitorKey());
        for (const [i, key] of keys.entries()) {
          const view = draftAt(FIXTURE_NOW + i * 1_000);
          await (i % 2 ? hot : peer).recordPageView(
            input(key, view, {
              scopes: ['community:paris'],
              previousVisitorKey: i === 3 ? (keys[2] ?? null) : null,
            }),
            CONTRACT_RULES,
          );
          await hot.engage(key, view.id, 2_000, view.at + 500);
          if (i % 3 === 0) await peer.identify(key, `user-${i}`, view.at + 600);
        }
        await hot.activeVisitors(FIXTURE_NOW + 20_000, CONTRACT_RULES.realtimeWindowMs, 'community:paris');
        const claimed = await hot.claimExpired(FIXTURE_NOW + TIMEOUT + 20_000, CONTRACT_RULES, 4, 60_000);
        await hot.complete(claimed.slice(0, 2).map((s) => s.id));
        expect(await probe.keysWithoutExpiry()).toEqual([]);
      },
      timeout,
    );
  });
}
