import type { PageView } from '@anon/core';
import { mongoStore, TTL_GRACE_DAYS } from '@anon/mongo';
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
  metricEvent,
  pageViewEvent,
  sessionEvent,
} from '@anon/testing';
import { describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';

const RANGE = { from: '2026-01-01', to: '2026-12-31' };
/** An anonymous record's TTL: retention plus the grace that leaves the daily purge time to fold it first. */
const expiry = (retentionDays: number) => (retentionDays + TTL_GRACE_DAYS) * DAY_MS;

function visit(db: EmulatedDb, overrides: Parameters<typeof fixtureSession>[0] = {}) {
  const session = fixtureSession(overrides);
  const views = fixtureVisit(session, ['/', '/pricing']);
  const summary = finalSummary(session, views);
  const metric = fixtureMetric(views[0] as PageView, 'time_on_page', 60_000);
  const events = [...views.map(pageViewEvent), metricEvent(metric), sessionEvent(summary)];
  const expiry = (id: string, collection: string) =>
    db
      .collection(`anon_${collection}`)
      .snapshot()
      .find((doc) => doc._id === id)?.expireAt ?? null;
  return {
    session,
    views,
    summary,
    events,
    /** The TTL dates of the session, its views and its metric (null where there is none). */
    expiries: () => [
      expiry(session.id, 'sessions'),
      ...views.map((view) => expiry(view.id, 'page_views')),
      expiry(`${metric.viewId}:${metric.metric}`, 'page_metrics'),
    ],
  };
}

describe('retention through the TTL index', () => {
  it('anonymous sessions, their page views and metrics expire after retentionDays plus the grace; aggregates never do', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    // The tracker hands its retention over once, at start.
    await store.init({ timeZone: 'UTC', retentionDays: 30 });
    await store.ensureIndexes();
    const anonymous = visit(db);
    await store.write(batchOf(anonymous.events));
    const [session, first, second, metric] = anonymous.expiries() as Date[];
    expect(session).toEqual(new Date(anonymous.session.startedAt + expiry(30)));
    expect(first).toEqual(new Date(anonymous.views[0]!.at + expiry(30)));
    expect(second).toEqual(new Date(anonymous.views[1]!.at + expiry(30)));
    expect(metric).toEqual(new Date(anonymous.views[0]!.at + expiry(30)));
    for (const doc of db.collection('anon_daily_pages').snapshot()) expect(doc.expireAt).toBeUndefined();
  });

  it('sessions with a user, or named by a conversion, keep everything (whatever the order of writes)', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    await store.ensureIndexes();
    const authenticated = visit(db, { userId: 'user-1' });
    const loggedInLater = visit(db);
    const converted = visit(db);
    const convertedFirst = visit(db);
    await store.write(batchOf([...authenticated.events, ...loggedInLater.events, ...converted.events]));
    expect(authenticated.expiries()).toEqual([null, null, null, null]);
    expect(loggedInLater.expiries().every((date) => date instanceof Date)).toBe(true);

    // A later summary with the user id: the session and what it holds stop expiring.
    await store.write(batchOf([sessionEvent({ ...loggedInLater.summary, userId: 'user-2' })]));
    expect(loggedInLater.expiries()).toEqual([null, null, null, null]);
    // A conversion links the session.
    await store.write(batchOf([conversionEvent(fixtureConversion('user-3', [converted.summary]))]));
    expect(converted.expiries()).toEqual([null, null, null, null]);
    // A conversion stored before the session it names.
    await store.write(batchOf([conversionEvent(fixtureConversion('user-4', [convertedFirst.summary]))]));
    await store.write(batchOf(convertedFirst.events));
    expect(convertedFirst.expiries()).toEqual([null, null, null, null]);
  });

  it('the TTL monitor past retention removes only what purge() would, and reports built on aggregates stay', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    await store.ensureIndexes();
    const anonymous = visit(db);
    const kept = visit(db, { userId: 'user-1' });
    const converted = visit(db);
    await store.write(batchOf([...anonymous.events, ...kept.events, ...converted.events]));
    await store.write(batchOf([conversionEvent(fixtureConversion('user-2', [converted.summary]))]));
    const before = await store.topPages(RANGE);

    // No session, page view or metric expires a day early.
    db.expire(new Date(FIXTURE_NOW + expiry(90) - DAY_MS));
    expect(anonymous.expiries().every((date) => date instanceof Date)).toBe(true);
    const removed = db.expire(new Date(FIXTURE_NOW + expiry(90) + DAY_MS));
    // 1 session, 2 page views, 1 metric (unique-visitor and ledger entries may have gone in the pass above).
    expect(removed).toBeGreaterThanOrEqual(4);
    expect(anonymous.expiries()).toEqual([null, null, null, null]);
    expect(
      db
        .collection('anon_sessions')
        .snapshot()
        .map((doc) => doc._id)
        .sort(),
    ).toEqual([kept.session.id, converted.session.id].sort());
    expect(db.collection('anon_page_views').snapshot()).toHaveLength(4);
    expect(db.collection('anon_conversions').snapshot()).toHaveLength(1);
    expect(await store.topPages(RANGE)).toEqual(before);
    expect(await store.purge(FIXTURE_NOW + expiry(90) + DAY_MS)).toEqual({
      sessions: 0,
      pageViews: 0,
      metrics: 0,
    });
  });

  it('the daily purge of a day past retention comes before the TTL: it folds what the TTL would drop', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    await store.init({ timeZone: 'UTC', retentionDays: 30 });
    await store.ensureIndexes();
    // The worst case: a session started at the first instant of its day.
    const dayStart = Math.floor(FIXTURE_NOW / DAY_MS) * DAY_MS;
    const anonymous = visit(db, { startedAt: dayStart, lastSeenAt: dayStart });
    await store.write(batchOf(anonymous.events));
    const sessions = await store.sessions(RANGE);
    const expires = (anonymous.expiries()[0] as Date).getTime();
    // The worker purges on the first day its cut-off (the start of the day 30 days back) passes the session,
    // and, if that purge fails, on the next: both days end before the TTL.
    const firstPurgeDay = dayStart + 31 * DAY_MS;
    expect(expires).toBeGreaterThanOrEqual(firstPurgeDay + 2 * DAY_MS);
    db.expire(new Date(firstPurgeDay + 2 * DAY_MS - 1));
    expect(anonymous.expiries().every((date) => date instanceof Date)).toBe(true);
    expect((await store.purge(firstPurgeDay)).sessions).toBe(1);
    expect(await store.sessions(RANGE)).toEqual(sessions);
    expect(sessions.sessions).toBe(1);
  });
});
