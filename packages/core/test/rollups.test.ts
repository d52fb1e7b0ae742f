import { isAnonError } from '@anon/core';
import {
  checkClaimDailyJob,
  checkPurge,
  foldSessionRollups,
  type LiveSession,
  liveSession,
  sessionRollupOf,
  visitorRollupsOf,
} from '@anon/core/adapter';
import { memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { batch, conversion, metric, pageView, session, T0 } from './memory-fixtures.js';

const DAY = 86_400_000;
const MIN = 60_000;

describe('rollup rules', () => {
  it('a purged session becomes one rollup row as the live reports count it', () => {
    const s = session({
      id: 's1',
      startedAt: T0,
      landingPath: '/a',
      referrerHost: 'news.example',
      country: 'FR',
    });
    // The summary is the first view's only; two more views are stored.
    const views = ['/a', '/b', '/c'].map((path, i) =>
      pageView(T0 + i * MIN, path, { sessionId: 's1', visitorKey: 'k', seq: i + 1 }),
    );
    const live = liveSession(s, views) as LiveSession;
    expect(sessionRollupOf(live, s, true)).toEqual({
      day: '2026-01-15',
      landingPath: '/a',
      exitPath: '/c',
      isBot: false,
      authenticated: false,
      visitor: true,
      referrerHost: 'news.example',
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      device: 'desktop',
      browser: 'Chrome',
      os: 'macOS',
      country: 'FR',
      sessions: 1,
      pageViews: 3,
      bounces: 0,
      durationMs: 2 * MIN,
    });
    const bounce = sessionRollupOf({ ...live, pageViews: 1, exitPath: '/a', durationMs: 0 }, s, true);
    expect(bounce.bounces).toBe(1);
    // Rows merge on every key field, whatever the order.
    const other = { ...bounce, exitPath: '/a' };
    const merged = foldSessionRollups([bounce, sessionRollupOf(live, s, true), other]);
    expect(merged).toHaveLength(2);
    expect(foldSessionRollups([other, sessionRollupOf(live, s, true), bounce])).toEqual(merged);
    expect(merged.find((r) => r.exitPath === '/a')).toMatchObject({ sessions: 2, bounces: 2, pageViews: 2 });
  });

  it('visitor rollups count a visitor once, by the purge that removes its last view of the day', () => {
    const v = (key: string | null, path: string, isBot = false, at = T0) =>
      pageView(at, path, { visitorKey: key, isBot });
    const removed = [v('k1', '/a'), v('k1', '/b'), v('k2', '/a'), v('bot', '/a', true), v(null, '/a')];
    const remaining = [v('k2', '/b'), v('k1', '/a', false, T0 + DAY)];
    const rows = visitorRollupsOf(removed, remaining);
    const byPath = Object.fromEntries(rows.map((r) => [String(r.path), [r.visitors, r.visitorsWithBots]]));
    // k2 still has a view that day (on /b): not counted for the whole day nor for /b; counted for /a.
    expect(byPath).toEqual({ null: [1, 2], '/a': [2, 3], '/b': [1, 1] });
    expect(rows.every((r) => r.day === '2026-01-15')).toBe(true);
    expect(visitorRollupsOf([v(null, '/a')], [])).toEqual([]);
  });

  it('checks purge options and claimDailyJob arguments', () => {
    expect(checkPurge(5, undefined, 't')).toEqual({ before: 5, authenticatedBefore: null, dryRun: false });
    expect(checkPurge(5, { authenticatedBefore: 3, dryRun: true }, 't')).toEqual({
      before: 5,
      authenticatedBefore: 3,
      dryRun: true,
    });
    for (const [before, options] of [
      [Number.NaN, undefined],
      ['5', undefined],
      [5, { authenticatedBefore: Number.POSITIVE_INFINITY }],
      [5, { authenticatedBefore: '1' }],
      [5, { dryRun: 'yes' }],
      [5, 7],
    ] as const) {
      const err = (() => {
        try {
          checkPurge(before as number, options as never, 't');
        } catch (e) {
          return e;
        }
      })();
      expect(isAnonError(err, 'invalid_input'), JSON.stringify([before, options])).toBe(true);
    }
    expect(checkClaimDailyJob('retention', '2026-01-15', 't')).toEqual({
      job: 'retention',
      day: '2026-01-15',
    });
  });
});

describe('memoryStore: purge with rollups', () => {
  it('a dry run folds nothing; rollups hold no identifier; authenticated sessions go only with authenticatedBefore', async () => {
    const store = memoryStore();
    const old = T0 - 10 * DAY;
    const anon = session({ id: 'anon', startedAt: old, visitorKey: 'key-anon' });
    const signedIn = session({
      id: 'signed',
      startedAt: old,
      visitorKey: 'key-signed',
      userId: 'user-secret',
    });
    // A stale summary without a user id whose later view carries one.
    const stale = session({ id: 'stale', startedAt: old + 5 * DAY, visitorKey: 'key-stale' });
    const converted = session({ id: 'conv', startedAt: old, visitorKey: 'key-conv', userId: 'user-conv' });
    const views = [
      pageView(old, '/', { sessionId: 'anon', visitorKey: 'key-anon', seq: 1 }),
      pageView(old, '/app', {
        sessionId: 'signed',
        visitorKey: 'key-signed',
        seq: 1,
        userId: 'user-secret',
        authenticated: true,
      }),
      pageView(old + 5 * DAY, '/', { sessionId: 'stale', visitorKey: 'key-stale', seq: 1 }),
      pageView(old + 5 * DAY + MIN, '/app', {
        sessionId: 'stale',
        visitorKey: 'key-stale',
        seq: 2,
        userId: 'user-stale',
        authenticated: true,
      }),
      pageView(old, '/', {
        sessionId: 'conv',
        visitorKey: 'key-conv',
        seq: 1,
        userId: 'user-conv',
        authenticated: true,
      }),
      pageView(old, '/dnt', { userId: 'user-dnt', authenticated: true }),
    ];
    await store.write(
      batch({
        sessions: [anon, signedIn, stale, converted],
        views,
        metrics: [metric(views[1]!, 'time_on_page', 1_000)],
        conversions: [conversion('user-conv', old + MIN, ['conv'], converted)],
      }),
    );
    expect(await store.purge(T0, { dryRun: true, authenticatedBefore: T0 })).toEqual({
      sessions: 3,
      pageViews: 5,
      metrics: 1,
    });
    expect(store.dump().sessionRollups).toEqual([]);
    // The stale one has no user id on its summary: it goes with the anonymous cut-off.
    expect(await store.purge(T0)).toEqual({ sessions: 2, pageViews: 4, metrics: 0 });
    expect(
      store
        .dump()
        .sessions.map((s) => s.id)
        .sort(),
    ).toEqual(['conv', 'signed']);
    expect(await store.purge(T0, { authenticatedBefore: old })).toEqual({
      sessions: 0,
      pageViews: 0,
      metrics: 0,
    });
    expect(await store.purge(T0, { authenticatedBefore: old + 1 })).toEqual({
      sessions: 1,
      pageViews: 1,
      metrics: 1,
    });
    expect(store.dump().sessions.map((s) => s.id)).toEqual(['conv']);
    const { sessionRollups, visitorRollups } = store.dump();
    const text = JSON.stringify([sessionRollups, visitorRollups]);
    for (const secret of [
      'user-secret',
      'user-stale',
      'key-anon',
      'key-signed',
      'key-stale',
      'anon',
      'signed',
    ]) {
      expect(text).not.toContain(`"${secret}"`);
    }
    expect(sessionRollups.map((r) => [r.authenticated, r.visitor, r.sessions]).sort()).toEqual([
      [false, true, 1],
      [true, false, 1],
      [true, true, 1],
    ]);
  });

  it('claimDailyJob: once per job and day, a week of claims kept per job', async () => {
    const store = memoryStore();
    expect(await store.claimDailyJob('retention', '2026-01-01')).toBe(true);
    for (let d = 2; d <= 8; d++) expect(await store.claimDailyJob('retention', `2026-01-0${d}`)).toBe(true);
    expect(await store.claimDailyJob('retention', '2026-01-08')).toBe(false);
    expect(await store.claimDailyJob('retention', '2026-01-02')).toBe(false);
    // The oldest claim is past the week kept: forgotten.
    expect(await store.claimDailyJob('retention', '2026-01-01')).toBe(true);
    const err = await store.claimDailyJob('', '2026-01-01').catch((e: unknown) => e);
    expect(isAnonError(err, 'invalid_input')).toBe(true);
  });
});
