import { isAnonError } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { RateCounters } from '../src/memory/rate-counters.js';
import { RecentVisitors } from '../src/memory/recent-visitors.js';
import { draft, MIN, RULES, record, T0 } from './memory-fixtures.js';

const DAY = 86_400_000;

describe('memoryHotStore: salts', () => {
  it('creates one salt per 24 h period and keeps the previous one', async () => {
    let made = 0;
    const hot = memoryHotStore({ newSalt: () => `salt-${++made}` });
    const first = await hot.salt(T0);
    expect(first).toEqual({ period: Math.floor(T0 / DAY), current: 'salt-1', previous: null });
    expect(await hot.salt(T0 + 1_000)).toEqual(first);
    const next = await hot.salt(T0 + DAY);
    expect(next).toEqual({ period: first.period + 1, current: 'salt-2', previous: 'salt-1' });
  });

  it('destroys a salt once it is older than the previous period', async () => {
    let made = 0;
    const hot = memoryHotStore({ newSalt: () => `salt-${++made}` });
    await hot.salt(T0);
    await hot.salt(T0 + DAY);
    await hot.salt(T0 + 2 * DAY);
    // salt-1's period began more than 48 h ago: asking for the day after it cannot see it any more.
    expect((await hot.salt(T0 + DAY)).previous).toBeNull();
  });

  it('makes 32-byte hex salts by default', async () => {
    const { current } = await memoryHotStore().salt(T0);
    expect(current).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('memoryHotStore: recordPageView', () => {
  it('starts, continues and, past the timeout, ends a session exactly once', async () => {
    const hot = memoryHotStore();
    const a = await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    expect(a.isNew).toBe(true);
    expect(a.seq).toBe(1);
    expect(a.persist).toBe(true);

    const b = await hot.recordPageView(record('v1', draft(T0 + 10_000, '/posts')), RULES);
    expect(b.isNew).toBe(false);
    expect(b.session.id).toBe(a.session.id);
    expect(b.seq).toBe(2);
    expect(b.previousView).toMatchObject({ path: '/', at: T0, timeOnPageMs: 10_000 });

    const c = await hot.recordPageView(
      record('v1', draft(T0 + 10_000 + RULES.sessionTimeoutMs + 1, '/')),
      RULES,
    );
    expect(c.isNew).toBe(true);
    expect(c.ended?.id).toBe(a.session.id);
    expect(c.ended?.pageViews).toBe(2);
    expect(hot.sessionCount()).toBe(1);
    // The ended session left the expiry index: no sweeper can return it a second time.
    expect(await hot.claimExpired(T0 + 100 * DAY, RULES, 10, MIN)).toEqual([
      expect.objectContaining({ id: c.session.id }),
    ]);
  });

  it('makes one session of two simultaneous first views', async () => {
    const hot = memoryHotStore();
    const [x, y] = await Promise.all([
      hot.recordPageView(record('v1', draft(T0, '/a')), RULES),
      hot.recordPageView(record('v1', draft(T0, '/b')), RULES),
    ]);
    expect(x.session.id).toBe(y.session.id);
    expect([x.isNew, y.isNew].sort()).toEqual([false, true]);
    expect(hot.sessionCount()).toBe(1);
  });

  it('continues a session under the previous key and moves it to the new key', async () => {
    const hot = memoryHotStore();
    const a = await hot.recordPageView(record('old-key', draft(T0, '/')), RULES);
    const b = await hot.recordPageView(
      record('new-key', draft(T0 + MIN, '/next'), { previousVisitorKey: 'old-key' }),
      RULES,
    );
    expect(b.session.id).toBe(a.session.id);
    expect(b.session.visitorKey).toBe('new-key');
    // The old key no longer leads anywhere; the new one does.
    const c = await hot.recordPageView(record('old-key', draft(T0 + 2 * MIN, '/')), RULES);
    expect(c.isNew).toBe(true);
    expect(await hot.identify('new-key', 'user-1', T0)).toMatchObject({ id: a.session.id, userId: 'user-1' });
  });

  it('flags views past the per-minute rate as bots, counts per minute, and keeps the session a bot', async () => {
    const hot = memoryHotStore();
    const rules = { ...RULES, botMaxViewsPerMinute: 2 };
    const steps = [];
    for (let i = 0; i < 3; i++) steps.push(await hot.recordPageView(record('v1', draft(T0 + i, '/')), rules));
    expect(steps.map((s) => s.viewsThisMinute)).toEqual([1, 2, 3]);
    expect(steps.map((s) => s.isBot)).toEqual([false, false, true]);
    expect(steps.map((s) => s.becameBot)).toEqual([false, false, true]);
    expect(steps[2]!.session.isBot).toBe(true);
    // The next minute's count starts again, but the session stays a bot's: so does its view, out of real time.
    const later = await hot.recordPageView(record('v1', draft(T0 + MIN, '/')), rules);
    expect(later.viewsThisMinute).toBe(1);
    expect(later).toMatchObject({ isBot: true, becameBot: false });
    expect(later.session.lastViewIsBot).toBe(true);
    expect(await hot.activeVisitors(T0 + MIN, MIN / 2)).toMatchObject({ total: 0 });
    // A new session (past the timeout) starts human again.
    const next = await hot.recordPageView(record('v1', draft(T0 + MIN + DAY, '/')), rules);
    expect(next).toMatchObject({ isNew: true, isBot: false, becameBot: false });
  });

  it('returns copies: changing a result changes nothing held', async () => {
    const hot = memoryHotStore();
    const a = await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    a.session.pageViews = 99;
    a.session.lastViewId = 'tampered';
    const b = await hot.recordPageView(record('v1', draft(T0 + 1, '/')), RULES);
    expect(b.seq).toBe(2);
    const [claimed] = await hot.claimExpired(T0 + DAY, RULES, 1, MIN);
    claimed!.pageViews = 1_000;
    expect(claimed!.pageViews).toBe(1_000);
    expect((await hot.claimExpired(T0 + DAY + 2 * MIN, RULES, 1, MIN))[0]?.pageViews).toBe(2);
  });

  it('rejects malformed input with a typed error', async () => {
    const hot = memoryHotStore();
    const bad = record('', draft(T0, '/'));
    const nanTime = record('v', { ...draft(T0, '/'), at: Number.NaN });
    await expect(hot.recordPageView(bad, RULES)).rejects.toSatisfy((e) => isAnonError(e, 'invalid_input'));
    await expect(hot.recordPageView(nanTime, RULES)).rejects.toSatisfy((e) =>
      isAnonError(e, 'invalid_input'),
    );
    await expect(hot.claimExpired(T0, RULES, -1, MIN)).rejects.toSatisfy((e) =>
      isAnonError(e, 'invalid_input'),
    );
  });
});

describe('memoryHotStore: engage and identify', () => {
  it('records engaged time only for the current last view, keeping the maximum', async () => {
    const hot = memoryHotStore();
    const a = await hot.recordPageView(record('v1', draft(T0, '/read')), RULES);
    const viewId = a.session.lastViewId;
    expect(await hot.engage('v1', viewId, 4_000, T0 + 5_000)).toEqual({
      sessionId: a.session.id,
      day: '2026-01-15',
      at: T0,
      path: '/read',
      isBot: false,
    });
    await hot.engage('v1', viewId, 2_000, T0 + 6_000);
    await hot.engage('v1', viewId, null, T0 + 6_000);
    const [claimed] = await hot.claimExpired(T0 + DAY, RULES, 1, MIN);
    expect(claimed?.lastEngagedMs).toBe(4_000);
  });

  it('returns null for another view or an unknown visitor', async () => {
    const hot = memoryHotStore();
    await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    expect(await hot.engage('v1', 'not-the-last-view', 1_000, T0)).toBeNull();
    expect(await hot.engage('nobody', 'x', 1_000, T0)).toBeNull();
    expect(await hot.identify('nobody', 'user', T0)).toBeNull();
  });

  it('attaches a user id to the live session', async () => {
    const hot = memoryHotStore();
    const a = await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    expect(await hot.identify('v1', 'user-7', T0 + 1)).toMatchObject({ id: a.session.id, userId: 'user-7' });
    const b = await hot.recordPageView(record('v1', draft(T0 + 2, '/x')), RULES);
    expect(b.session.userId).toBe('user-7');
  });
});

describe('memoryHotStore: activeVisitors', () => {
  it('counts distinct non-bot visitors in (now − window, now], overall and per scope', async () => {
    const hot = memoryHotStore();
    await hot.recordPageView(record('v1', draft(T0, '/'), { scopes: ['community:x'] }), RULES);
    await hot.recordPageView(record('v1', draft(T0 + 1_000, '/'), { scopes: ['community:x'] }), RULES);
    await hot.recordPageView(record('v2', draft(T0 + 2_000, '/'), { scopes: ['community:y'] }), RULES);
    await hot.recordPageView(
      record('bot', draft(T0 + 2_000, '/', { isBot: true }), { scopes: ['community:x'] }),
      RULES,
    );

    expect(await hot.activeVisitors(T0 + 2_000, 5 * MIN)).toMatchObject({ total: 2 });
    expect(await hot.activeVisitors(T0 + 2_000, 5 * MIN, 'community:x')).toMatchObject({ total: 1 });
    expect(await hot.activeVisitors(T0 + 2_000, 5 * MIN, 'community:y')).toMatchObject({ total: 1 });
    expect(await hot.activeVisitors(T0 + 2_000, 5 * MIN, 'community:z')).toMatchObject({ total: 0 });
    // v1's latest view is at T0 + 1 000: exactly one window later it is out, one ms earlier it is in.
    expect(await hot.activeVisitors(T0 + 1_000 + 5 * MIN - 1, 5 * MIN, 'community:x')).toMatchObject({
      total: 1,
    });
    expect(await hot.activeVisitors(T0 + 1_000 + 5 * MIN, 5 * MIN, 'community:x')).toMatchObject({
      total: 0,
    });
    // A view after `now` is not "in the last window" yet.
    expect(await hot.activeVisitors(T0 + 1_500, 5 * MIN)).toMatchObject({ total: 1 });
  });
});

describe('memoryHotStore: claimExpired and complete', () => {
  async function withSessions(n: number) {
    const hot = memoryHotStore();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      // Recorded newest first, so order of insertion cannot pass for order of idleness.
      const step = await hot.recordPageView(record(`v${i}`, draft(T0 - i * 1_000, '/')), RULES);
      ids.unshift(step.session.id);
    }
    return { hot, ids };
  }
  const idleAt = T0 + RULES.sessionTimeoutMs + 1;

  it('claims only sessions idle past the timeout, oldest first, up to the limit', async () => {
    const { hot, ids } = await withSessions(5);
    expect(await hot.claimExpired(T0 + RULES.sessionTimeoutMs - 4_000, RULES, 10, MIN)).toEqual([]);
    // At this time the two oldest (T0 − 4 s, T0 − 3 s) are idle longer than the timeout; T0 − 2 s is exactly at it.
    const claimed = await hot.claimExpired(T0 + RULES.sessionTimeoutMs - 2_000, RULES, 10, MIN);
    expect(claimed.map((s) => s.id)).toEqual(ids.slice(0, 2));
    const rest = await hot.claimExpired(idleAt, RULES, 2, MIN);
    expect(rest.map((s) => s.id)).toEqual(ids.slice(2, 4));
  });

  it('gives two concurrent claimers disjoint sessions', async () => {
    const { hot, ids } = await withSessions(10);
    const [x, y] = await Promise.all([
      hot.claimExpired(idleAt, RULES, 6, MIN),
      hot.claimExpired(idleAt, RULES, 6, MIN),
    ]);
    const all = [...x, ...y].map((s) => s.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual([...ids].sort());
  });

  it('returns a claimed session to nobody until its lease has passed, then again', async () => {
    const { hot, ids } = await withSessions(1);
    expect((await hot.claimExpired(idleAt, RULES, 10, MIN)).map((s) => s.id)).toEqual(ids);
    expect(await hot.claimExpired(idleAt + MIN - 1, RULES, 10, MIN)).toEqual([]);
    expect((await hot.claimExpired(idleAt + MIN, RULES, 10, MIN)).map((s) => s.id)).toEqual(ids);
  });

  it('forgets completed sessions', async () => {
    const { hot, ids } = await withSessions(3);
    const claimed = await hot.claimExpired(idleAt, RULES, 3, MIN);
    await hot.complete(claimed.map((s) => s.id));
    expect(hot.sessionCount()).toBe(0);
    expect(await hot.claimExpired(idleAt + DAY, RULES, 10, MIN)).toEqual([]);
    expect(ids).toHaveLength(3);
  });

  it('does not return as ended a claimed session that a new view replaces', async () => {
    const hot = memoryHotStore();
    const first = await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    const [claimed] = await hot.claimExpired(idleAt, RULES, 10, MIN);
    expect(claimed?.id).toBe(first.session.id);

    const next = await hot.recordPageView(record('v1', draft(idleAt, '/again')), RULES);
    expect(next.isNew).toBe(true);
    expect(next.ended).toBeNull();
    // The sweeper still owns it until it completes; completing it keeps the visitor's new session.
    expect(hot.sessionCount()).toBe(2);
    await hot.complete([first.session.id]);
    expect(hot.sessionCount()).toBe(1);
    const after = await hot.recordPageView(record('v1', draft(idleAt + 1_000, '/more')), RULES);
    expect(after.session.id).toBe(next.session.id);
  });

  it('treats a claimed session as no longer live, even for a late view inside its timeout', async () => {
    const hot = memoryHotStore();
    const first = await hot.recordPageView(record('v1', draft(T0, '/')), RULES);
    await hot.claimExpired(idleAt, RULES, 10, MIN);
    expect(await hot.engage('v1', first.session.lastViewId, 1_000, idleAt)).toBeNull();
    expect(await hot.identify('v1', 'user', idleAt)).toBeNull();
    const late = await hot.recordPageView(record('v1', draft(T0 + 1_000, '/late')), RULES);
    expect(late.isNew).toBe(true);
    expect(late.session.id).not.toBe(first.session.id);
    expect(late.ended).toBeNull();
  });

  it('claims the oldest of 100 000 live sessions in order', async () => {
    const hot = memoryHotStore();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      // A scattered order of times: i * 7919 mod n is a permutation of 0..n−1.
      const offset = (i * 7_919) % n;
      await hot.recordPageView(
        record(`v${i}`, draft(T0 + offset, '/'), { newSessionId: `s${offset}` }),
        RULES,
      );
    }
    expect(hot.sessionCount()).toBe(n);
    const claimed = await hot.claimExpired(T0 + RULES.sessionTimeoutMs + 50, RULES, 1_000, MIN);
    expect(claimed.map((s) => s.id)).toEqual(Array.from({ length: 50 }, (_, i) => `s${i}`));
  });
});

describe('memoryHotStore: expiring state', () => {
  it('trims real-time entries once the window has passed, and forgets empty scopes', () => {
    const recent = new RecentVisitors(5 * MIN);
    recent.touch('v1', T0, ['page:/a'], 5 * MIN, false);
    recent.touch('v2', T0 + MIN, ['page:/b'], 5 * MIN, false);
    expect(recent.size).toBe(4);
    recent.touch('v3', T0 + 5 * MIN, [], 5 * MIN, false);
    // Reading trims the set read (v1 leaves the overall map); every other set waits for the next full trim.
    expect(recent.count(T0 + 5 * MIN, 5 * MIN)).toEqual({ total: 2, authenticated: 0, anonymous: 2 });
    recent.trimAll(T0 + 6 * MIN);
    expect(recent.size).toBe(1);
    expect(recent.count(T0 + 20 * MIN, 5 * MIN).total).toBe(0);
    expect(recent.size).toBe(0);
  });

  it('keeps rate counters for two minutes only', () => {
    const rates = new RateCounters();
    const minute = Math.floor(T0 / MIN);
    expect(rates.hit('v1', minute)).toBe(1);
    expect(rates.hit('v2', minute)).toBe(1);
    expect(rates.hit('v1', minute + 1)).toBe(1);
    expect(rates.size).toBe(3);
    rates.hit('v3', minute + 2);
    expect(rates.size).toBe(2);
    // A view from an expired minute counts alone and stores nothing.
    expect(rates.hit('v1', minute)).toBe(1);
    expect(rates.size).toBe(2);
  });
});
