import {
  accumulateView,
  applyMetric,
  applyView,
  emptyAccumulator,
  emptyAggregate,
  mergeAggregates,
  moveViewToBots,
  recomputeAggregates,
  removeMetric,
} from '@anon/core/adapter';
import { describe, expect, it } from 'vitest';
import { metric, pageView } from './engine-fixtures.js';

describe('applyView', () => {
  it('counts a human view by authentication, device and new visitor', () => {
    const row = emptyAggregate('2026-01-15', '/');
    applyView(row, pageView({ authenticated: true, userId: 'u', device: 'mobile' }), true);
    applyView(row, pageView({ id: 'v2', device: 'tablet' }), false);
    applyView(row, pageView({ id: 'v3', device: 'desktop' }), true);
    expect(row).toMatchObject({
      views: 3,
      authenticatedViews: 1,
      anonymousViews: 2,
      mobileViews: 1,
      tabletViews: 1,
      desktopViews: 1,
      uniqueVisitors: 2,
      botViews: 0,
    });
  });

  it('counts a bot view only in botViews, and in botAuthenticatedViews when authenticated', () => {
    const row = emptyAggregate('2026-01-15', '/');
    applyView(row, pageView({ isBot: true, botReasons: ['user-agent'] }), true);
    expect(row).toEqual({ ...emptyAggregate('2026-01-15', '/'), botViews: 1 });
    applyView(row, pageView({ isBot: true, botReasons: ['rate'], userId: 'u1', authenticated: true }), true);
    expect(row).toEqual({ ...emptyAggregate('2026-01-15', '/'), botViews: 2, botAuthenticatedViews: 1 });
  });

  it('moves a human view to the bot counts, and takes a human metric back out', () => {
    const row = emptyAggregate('2026-01-15', '/');
    const view = pageView({ visitorKey: 'k1', userId: 'u1', authenticated: true, device: 'tablet' });
    const time = metric({ metric: 'time_on_page', value: 4_000, isBot: false });
    applyView(row, view, true);
    applyMetric(row, time);
    moveViewToBots(row, view, true);
    removeMetric(row, time);
    expect(row).toEqual({ ...emptyAggregate('2026-01-15', '/'), botViews: 1, botAuthenticatedViews: 1 });
    // A visitor with another human view of the row stays counted.
    const kept = emptyAggregate('2026-01-15', '/');
    applyView(kept, pageView({ visitorKey: 'k1' }), true);
    applyView(kept, pageView({ visitorKey: 'k1' }), false);
    moveViewToBots(kept, pageView({ visitorKey: 'k1' }), false);
    expect(kept).toMatchObject({ views: 1, anonymousViews: 1, uniqueVisitors: 1, botViews: 1 });
  });

  it('never counts a null visitor key as a unique visitor', () => {
    const row = emptyAggregate('2026-01-15', '/');
    applyView(row, pageView({ visitorKey: null, sessionId: null, seq: 0 }), true);
    expect(row.views).toBe(1);
    expect(row.uniqueVisitors).toBe(0);
  });
});

describe('applyMetric', () => {
  it('adds sums and counts so averages compose across days', () => {
    const row = emptyAggregate('2026-01-15', '/');
    applyMetric(row, metric({ metric: 'time_on_page', value: 4000 }));
    applyMetric(row, metric({ metric: 'time_on_page', value: 2000 }));
    applyMetric(row, metric({ metric: 'scroll_depth', value: 80 }));
    applyMetric(row, metric({ metric: 'interactions', value: 3 }));
    expect(row).toMatchObject({
      timeOnPageSumMs: 6000,
      timeOnPageCount: 2,
      scrollDepthSum: 80,
      scrollDepthCount: 1,
      interactions: 3,
    });
  });

  it('ignores metrics of bot views', () => {
    const row = emptyAggregate('2026-01-15', '/');
    applyMetric(row, metric({ isBot: true }));
    expect(row).toEqual(emptyAggregate('2026-01-15', '/'));
  });
});

describe('mergeAggregates', () => {
  it('counts a visitor seen in both halves once', () => {
    const a = emptyAccumulator('2026-01-15', '/');
    const b = emptyAccumulator('2026-01-15', '/');
    accumulateView(a, pageView({ id: 'v1', visitorKey: 'k1' }));
    accumulateView(b, pageView({ id: 'v2', visitorKey: 'k1' }));
    accumulateView(b, pageView({ id: 'v3', visitorKey: 'k2' }));
    const merged = mergeAggregates(a, b);
    expect(merged.row.views).toBe(3);
    expect(merged.row.uniqueVisitors).toBe(2);
    expect([...merged.visitors].sort()).toEqual(['k1', 'k2']);
    // The inputs are left as they were.
    expect(a.row.views).toBe(1);
  });
});

describe('recomputeAggregates', () => {
  it('builds rows per day and path, sorted, with first writes winning', () => {
    const rows = recomputeAggregates(
      [
        pageView({ id: 'v1', path: '/b', visitorKey: 'k1' }),
        pageView({ id: 'v1', path: '/b', visitorKey: 'k1' }),
        pageView({ id: 'v2', path: '/a', visitorKey: 'k1' }),
        pageView({ id: 'v3', path: '/a', day: '2026-01-14', visitorKey: 'k2', isBot: true }),
      ],
      [
        metric({ viewId: 'v1', path: '/b', value: 100 }),
        metric({ viewId: 'v1', path: '/b', value: 999 }),
        metric({ viewId: 'v3', path: '/a', day: '2026-01-14', isBot: true }),
      ],
    );
    expect(rows.map((r) => [r.day, r.path])).toEqual([
      ['2026-01-14', '/a'],
      ['2026-01-15', '/a'],
      ['2026-01-15', '/b'],
    ]);
    expect(rows[0]).toMatchObject({ views: 0, botViews: 1, uniqueVisitors: 0, timeOnPageCount: 0 });
    expect(rows[2]).toMatchObject({ views: 1, uniqueVisitors: 1, timeOnPageSumMs: 100, timeOnPageCount: 1 });
  });
});
