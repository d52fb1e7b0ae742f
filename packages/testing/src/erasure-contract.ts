import { isAnonError, type PageView, type Session, type StoreWriter } from '@anon/core';
import { expect, it } from 'vitest';
import {
  batchOf,
  conversionEvent,
  DAY_MS,
  FIXTURE_NOW,
  finalSummary,
  fixtureConversion,
  fixtureMetric,
  fixtureSession,
  fixtureVisit,
  fixtureVisitorKey,
  metricEvent,
  pageViewEvent,
  sessionEvent,
} from './fixtures.js';
import type { StoreProbe } from './harness.js';

/** What the erasure checks need from the contract's harness. */
export interface ErasureHarness {
  store: StoreWriter;
  probe: StoreProbe;
}

/**
 * Registers the erasure checks (GDPR art. 17) of the store writer contract: `eraseUser` removes every row that
 * holds the user id or belongs to the user's sessions, reports what went, leaves other users and the
 * aggregates untouched, and is idempotent. Called from `storeWriterContract`; not meant to run alone.
 */
export function erasureContract(h: () => ErasureHarness, timeout: number): void {
  it(
    'eraseUser removes the user’s sessions, page views, metrics and conversion, and nothing of anyone else',
    async () => {
      const { store, probe } = h();
      // Unique per run: the raw text search must find only what this test wrote.
      const erased = `user-erased-${fixtureVisitorKey()}`;
      const other = `user-kept-${fixtureVisitorKey()}`;
      const start = FIXTURE_NOW - 2 * DAY_MS;

      // The erased user: an anonymous visit converted after it was stored, one whose conversion was
      // written before the session (linked only through the conversion), and a signed-in visit.
      const converted = fixtureSession({ startedAt: start });
      const linkedEarly = fixtureSession({ startedAt: start + 1_000 });
      const signedIn = fixtureSession({ startedAt: start + DAY_MS, userId: erased });
      const erasedViews = [
        ...fixtureVisit(converted, ['/', '/pricing']),
        ...fixtureVisit(linkedEarly, ['/blog']),
        ...fixtureVisit(signedIn, ['/app', '/app/settings']),
      ];
      const conversion = fixtureConversion(erased, [converted, linkedEarly], start + 5 * 60_000);

      // Someone else: an anonymous visit that converted, a signed-in visit, and an anonymous stranger.
      const otherAnonymous = fixtureSession({ startedAt: start });
      const otherSignedIn = fixtureSession({ startedAt: start + DAY_MS, userId: other });
      const stranger = fixtureSession({ startedAt: start + 2_000 });
      const keptViews = [
        ...fixtureVisit(otherAnonymous, ['/', '/about']),
        ...fixtureVisit(otherSignedIn, ['/app']),
        ...fixtureVisit(stranger, ['/pricing']),
      ];
      const otherConversion = fixtureConversion(other, [otherAnonymous], start + 5 * 60_000);

      const sessionsOf = (views: PageView[], list: Session[]) =>
        list.map((s) =>
          finalSummary(
            s,
            views.filter((v) => v.sessionId === s.id),
          ),
        );
      const erasedMetrics = [
        fixtureMetric(erasedViews[0] as PageView, 'time_on_page', 12_000),
        fixtureMetric(erasedViews[3] as PageView, 'scroll_depth', 80),
      ];
      const keptMetrics = [fixtureMetric(keptViews[0] as PageView, 'time_on_page', 9_000)];

      await store.write(batchOf([conversionEvent(conversion)]));
      await store.write(
        batchOf([
          ...[...erasedViews, ...keptViews].map(pageViewEvent),
          ...[...erasedMetrics, ...keptMetrics].map(metricEvent),
          ...sessionsOf(erasedViews, [linkedEarly, signedIn]).map(sessionEvent),
          ...sessionsOf(keptViews, [otherAnonymous, otherSignedIn, stranger]).map(sessionEvent),
        ]),
      );
      // Stored after the conversion that names it: a store may or may not mark it converted.
      await store.write(batchOf(sessionsOf(erasedViews, [converted]).map(sessionEvent)));
      await store.write(batchOf([conversionEvent(otherConversion)]));

      const keptSessionIds = [otherAnonymous, otherSignedIn, stranger].map((s) => s.id);
      const keptBefore = await Promise.all(keptSessionIds.map((id) => probe.session(id)));
      const aggregatesBefore = await probe.aggregates();
      if (probe.tablesHolding !== undefined) {
        // The search must see the user id before erasure, or its silence afterwards proves nothing.
        expect((await probe.tablesHolding(erased)).length).toBeGreaterThan(0);
      }

      expect(await store.eraseUser(erased)).toEqual({
        sessions: 3,
        pageViews: erasedViews.length,
        metrics: erasedMetrics.length,
        conversions: 1,
      });

      for (const s of [converted, linkedEarly, signedIn]) expect(await probe.session(s.id)).toBeNull();
      expect((await probe.pageViewIds()).sort()).toEqual(keptViews.map((v) => v.id).sort());
      expect(await probe.metricIds()).toEqual(keptMetrics.map((m) => `${m.viewId}:${m.metric}`));
      expect(await probe.conversionIds()).toEqual([otherConversion.id]);
      expect(await Promise.all(keptSessionIds.map((id) => probe.session(id)))).toEqual(keptBefore);
      // Aggregates are counts: they hold no identifier and keep the erased user's views counted.
      expect(await probe.aggregates()).toEqual(aggregatesBefore);
      if (probe.tablesHolding !== undefined) {
        expect(await probe.tablesHolding(erased)).toEqual([]);
        expect((await probe.tablesHolding(other)).length).toBeGreaterThan(0);
      }

      // Idempotent, and a user the store never saw is no error.
      const none = { sessions: 0, pageViews: 0, metrics: 0, conversions: 0 };
      expect(await store.eraseUser(erased)).toEqual(none);
      expect(await store.eraseUser(`user-unknown-${fixtureVisitorKey()}`)).toEqual(none);
      for (const bad of ['', null, 42]) {
        const err = await store.eraseUser(bad as unknown as string).catch((e: unknown) => e);
        expect(isAnonError(err, 'invalid_input')).toBe(true);
      }
    },
    timeout,
  );
}
