import { createTracker, isAnonError, type PurgeOptions, type StoreWriter, type Tracker } from '@anon/core';
import { type MemoryStore, memoryHotStore, memoryQueue, memoryStore } from '@anon/core/memory';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retentionCutoffs, startOfDay } from '../src/engine/retention.js';
import { fakeClock, silentLogger } from './engine-fixtures.js';
import { batch, pageView, session, T0 } from './memory-fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** One old visit of `days` days before T0: its summary and one page view. */
function oldVisit(store: MemoryStore, id: string, days: number, userId: string | null = null) {
  const startedAt = T0 - days * DAY;
  const s = session({ id, startedAt, userId, visitorKey: `k-${id}` });
  const v = pageView(startedAt, '/', {
    sessionId: id,
    visitorKey: `k-${id}`,
    seq: 1,
    userId,
    authenticated: userId !== null,
  });
  return store.write(batch({ sessions: [s], views: [v] }));
}

/** The store with every `purge` call recorded (the store itself does the work). */
function recorded(store: MemoryStore): { store: StoreWriter; calls: [number, PurgeOptions | undefined][] } {
  const calls: [number, PurgeOptions | undefined][] = [];
  const wrapped: StoreWriter = {
    init: (settings) => store.init(settings),
    write: (b) => store.write(b),
    visitorSessions: (keys, since, until) => store.visitorSessions(keys, since, until),
    eraseUser: (userId) => store.eraseUser(userId),
    claimDailyJob: (job, day) => store.claimDailyJob(job, day),
    purge: (before, options) => {
      calls.push([before, options]);
      return store.purge(before, options);
    },
  };
  return { store: wrapped, calls };
}

const sessionIds = (store: MemoryStore) =>
  store
    .dump()
    .sessions.map((s) => s.id)
    .sort();

describe('automatic retention', () => {
  const trackers: Tracker[] = [];
  beforeEach(() => {
    // Only the hourly timer is faked: the queue and the batcher keep their real timeouts.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(async () => {
    for (const t of trackers.splice(0)) await t.close();
    vi.useRealTimers();
  });

  const open = (
    store: StoreWriter,
    clock = fakeClock(),
    options: Parameters<typeof createTracker>[0] = {},
  ) => {
    const tracker = createTracker({
      hot: memoryHotStore(),
      queue: memoryQueue(),
      store,
      clock,
      sweeper: false,
      logger: silentLogger(),
      ...options,
    });
    trackers.push(tracker);
    return tracker;
  };

  it('two workers on one store purge once a day between them, at start and then on the first hourly check of a new day', async () => {
    const memory = memoryStore();
    const { store, calls } = recorded(memory);
    await oldVisit(memory, 'old', 100);
    await oldVisit(memory, 'recent', 10);
    await oldVisit(memory, 'signed-in', 100, 'user-1');
    const clock = fakeClock(T0);
    const a = open(store, clock);
    const b = open(store, clock);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    // The cut-off is the start of the day 90 days before today (UTC), and authenticated data is kept.
    expect(calls[0]).toEqual([Date.UTC(2025, 9, 17), {}]);
    await vi.waitFor(() => expect(a.stats().purged + b.stats().purged).toBe(1));
    expect(sessionIds(memory)).toEqual(['recent', 'signed-in']);
    // The purged session is in the rollups: the day still counts it.
    expect(await memory.sessions({ from: '2025-10-07', to: '2025-10-07' })).toMatchObject({ sessions: 2 });

    // Later the same day: both check again, neither purges.
    await oldVisit(memory, 'old-2', 95);
    clock.advance(HOUR);
    await vi.advanceTimersByTimeAsync(HOUR);
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(calls).toHaveLength(1);
    expect(sessionIds(memory)).toContain('old-2');

    // The next day: one of them purges, once.
    clock.set(T0 + DAY);
    await vi.advanceTimersByTimeAsync(HOUR);
    await vi.waitFor(() => expect(calls).toHaveLength(1 + 1));
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.[0]).toBe(Date.UTC(2025, 9, 18));
    expect(sessionIds(memory)).toEqual(['recent', 'signed-in']);
    expect(a.stats().purged + b.stats().purged).toBe(2);

    // Closed workers check no more.
    await a.close();
    await b.close();
    clock.set(T0 + 2 * DAY);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(calls).toHaveLength(2);
  });

  it('authenticatedRetentionDays purges authenticated sessions past their own cut-off', async () => {
    const memory = memoryStore();
    const { store, calls } = recorded(memory);
    await oldVisit(memory, 'signed-in-old', 40, 'user-1');
    await oldVisit(memory, 'signed-in-recent', 20, 'user-2');
    await oldVisit(memory, 'anonymous', 40);
    const tracker = open(store, fakeClock(T0), { authenticatedRetentionDays: 30, retentionDays: 60 });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toEqual([Date.UTC(2025, 10, 16), { authenticatedBefore: Date.UTC(2025, 11, 16) }]);
    await vi.waitFor(() => expect(tracker.stats().purged).toBe(1));
    expect(sessionIds(memory)).toEqual(['anonymous', 'signed-in-recent']);
  });

  it('retention: false turns it off; a store without claimDailyJob says once that it is off', async () => {
    const memory = memoryStore();
    const { store, calls } = recorded(memory);
    await oldVisit(memory, 'old', 100);
    open(store, fakeClock(T0), { retention: false });
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    expect(calls).toHaveLength(0);

    const { claimDailyJob: _, ...unclaimable } = store;
    const logger = silentLogger();
    open(unclaimable, fakeClock(T0), { logger });
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    expect(calls).toHaveLength(0);
    expect(logger.lines).toEqual([expect.stringMatching(/automatic retention is off/)]);
    expect(sessionIds(memory)).toEqual(['old']);
  });

  it('a failed purge is retried at the next hourly check by the worker that claimed the day', async () => {
    const memory = memoryStore();
    const { store, calls } = recorded(memory);
    await oldVisit(memory, 'old', 100);
    let failures = 1;
    const flaky: StoreWriter = {
      ...store,
      purge: async (before, options) => {
        if (failures-- > 0) throw new Error('connection reset');
        return store.purge(before, options);
      },
    };
    const clock = fakeClock(T0);
    const tracker = open(flaky, clock);
    await vi.waitFor(() => expect(tracker.stats().failures).toBe(1));
    expect(sessionIds(memory)).toEqual(['old']);
    // The claim is taken: another worker does not purge today, but this one retries within the hour.
    expect(await memory.claimDailyJob('retention', '2026-01-15')).toBe(false);
    clock.advance(HOUR);
    await vi.advanceTimersByTimeAsync(HOUR);
    await vi.waitFor(() => expect(tracker.stats().purged).toBe(1));
    expect(calls).toHaveLength(1);
    expect(sessionIds(memory)).toEqual([]);
  });

  it('checks authenticatedRetentionDays and retention', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '30']) {
      const err = (() => {
        try {
          createTracker({ authenticatedRetentionDays: bad as number });
        } catch (e) {
          return e;
        }
      })();
      expect(isAnonError(err, 'invalid_config'), String(bad)).toBe(true);
    }
    const err = (() => {
      try {
        createTracker({ retention: 'yes' as unknown as boolean });
      } catch (e) {
        return e;
      }
    })();
    expect(isAnonError(err, 'invalid_config')).toBe(true);
  });
});

describe('retention cut-offs', () => {
  it('is the first instant of the day retentionDays before today, in the time zone', () => {
    const utc = retentionCutoffs(Date.UTC(2026, 0, 15, 23, 59), {
      timeZone: 'UTC',
      retentionDays: 1,
      authenticatedRetentionDays: null,
    });
    expect(utc).toEqual({ day: '2026-01-15', before: Date.UTC(2026, 0, 14), options: {} });
    // 02:00 UTC on Jan 15 is still Jan 14 in Toronto (UTC−5): today is the 14th there.
    const toronto = retentionCutoffs(Date.UTC(2026, 0, 15, 2), {
      timeZone: 'America/Toronto',
      retentionDays: 90,
      authenticatedRetentionDays: 365,
    });
    expect(toronto.day).toBe('2026-01-14');
    expect(toronto.before).toBe(Date.UTC(2025, 9, 16, 4)); // Oct 16, 00:00 EDT (UTC−4)
    expect(toronto.options.authenticatedBefore).toBe(Date.UTC(2025, 0, 14, 5)); // Jan 14 2025, 00:00 EST
  });

  it('startOfDay finds a day that does not begin at midnight, and early years', () => {
    // Havana skips midnight into DST: 2026-03-08 begins at 01:00 local (05:00 UTC).
    expect(startOfDay('2026-03-08', 'America/Havana')).toBe(Date.UTC(2026, 2, 8, 5));
    expect(startOfDay('2026-03-29', 'Europe/Paris')).toBe(Date.UTC(2026, 2, 28, 23));
    expect(startOfDay('0050-06-01', 'UTC')).toBe(new Date('0050-06-01T00:00:00Z').getTime());
    expect(startOfDay('2026-01-15', 'Pacific/Kiritimati')).toBe(Date.UTC(2026, 0, 14, 10));
  });
});
