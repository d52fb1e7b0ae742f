import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIREFOX, IPHONE, MIN, memoryRig, navigation } from '../engine-fixtures.js';

const visitor = { ip: '203.0.113.50', ua: FIREFOX };
const someoneElse = { ip: '198.51.100.4', ua: IPHONE };

const stepArb = fc.record({
  who: fc.constantFrom(visitor, someoneElse),
  path: fc.constantFrom('/', '/posts/1', '/posts/2', '/pricing'),
  wait: fc.oneof(fc.integer({ min: 0, max: 5 * MIN }), fc.integer({ min: 31 * MIN, max: 6 * 60 * MIN })),
});

describe('conversion (property)', () => {
  it('identify twice converts once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { maxLength: 12 }),
        fc.array(stepArb, { maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        async (before, between, flushes) => {
          // ipMode 'full' so the test can tell whose views are whose in the store.
          const { tracker, clock, store } = memoryRig({ ipMode: 'full' });
          for (const s of before) {
            clock.advance(s.wait);
            tracker.track(navigation(s.path, { ip: s.who.ip, ua: s.who.ua }));
          }
          const signup = navigation('/signup', { method: 'POST', ip: visitor.ip, ua: visitor.ua });
          clock.advance(MIN);
          await tracker.identify(signup, 'u1', 'signup');
          if (flushes & 1) await tracker.flush();
          for (const s of between) {
            clock.advance(s.wait);
            tracker.track(
              navigation(s.path, { ip: s.who.ip, ua: s.who.ua, userId: s.who === visitor ? 'u1' : null }),
            );
          }
          if (flushes & 2) await tracker.sweep();
          await tracker.identify(signup, 'u1', 'signup');
          await tracker.identify(signup, 'u1', 'login');
          await tracker.sweep();
          await tracker.flush();

          const conversions = store.dump().conversions;
          expect(conversions.map((c) => c.id)).toEqual(['signup:u1']);
          expect(tracker.stats().conversions).toBe(1);
          const report = await store.conversions({ from: '2026-01-01', to: '2026-12-31' });
          expect(report.signups).toBe(1);
          // It links only the visitor's own sessions.
          const sessions = new Map(store.dump().sessions.map((s) => [s.id, s]));
          const visitorKeys = new Set(
            store
              .dump()
              .pageViews.filter((v) => v.ip === visitor.ip)
              .map((v) => v.visitorKey),
          );
          for (const id of conversions[0]?.sessionIds ?? []) {
            const session = sessions.get(id);
            expect(session).toBeDefined();
            expect(session?.convertedUserId).toBe('u1');
            expect(visitorKeys.has(session?.visitorKey ?? null)).toBe(true);
          }
          await tracker.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
