import { type EventBatch, isAnonError, type PageView } from '@anon/core';
import { type MongoDocument, mongoStore } from '@anon/mongo';
import {
  batchOf,
  botSessionEvent,
  conversionEvent,
  DAY_MS,
  FIXTURE_NOW,
  finalSummary,
  fixtureConversion,
  fixtureMetric,
  fixtureSession,
  fixtureVisit,
  HOSTILE_STRINGS,
  metricEvent,
  pageViewEvent,
  sessionEvent,
} from '@anon/testing';
import { describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';

const RANGE = { from: '2026-01-01', to: '2026-01-31' };
/** Strings that mean something to MongoDB when they land in a key or an expression. */
const MONGO_HOSTILE = [
  '$where',
  '$ne',
  '$gt',
  '$$ROOT',
  '$literal',
  'a.b',
  'a.b.c.$[]',
  '$',
  '.',
  '__proto__',
  ...HOSTILE_STRINGS,
];

/** Every field name of every stored document, at any depth. */
function fieldNames(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) fieldNames(item, into);
  else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      fieldNames(item, into);
    }
  }
  return into;
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isAnonError(error, 'invalid_input')).toBe(true);
  expect((error as Error).message).toMatch(/^\[anon\] \[mongo\] /);
}

function storedDocuments(db: EmulatedDb): MongoDocument[] {
  return db.collectionNames().flatMap((name) => db.collection(name).snapshot());
}

describe('hostile input: request data is only ever a value', () => {
  it('paths, referrers, UTM values and user ids that look like operators or dotted keys are stored verbatim as values', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    const events = [];
    const hostile = [...new Set(MONGO_HOSTILE.map((raw) => raw.slice(0, 100)))];
    for (const value of hostile) {
      const session = fixtureSession({
        landingPath: value,
        exitPath: value,
        referrer: value,
        referrerHost: value,
        utmSource: value,
        utmMedium: value,
        utmCampaign: value,
        browser: value.slice(0, 50),
      });
      const views = fixtureVisit(session, [value, `${value}/next`]);
      const [first] = views as [PageView];
      events.push(...views.map(pageViewEvent), metricEvent(fixtureMetric(first, 'scroll_depth', 50)));
      events.push(sessionEvent(finalSummary(session, views)));
      events.push(conversionEvent(fixtureConversion(value, [finalSummary(session, views)])));
    }
    expect((await store.write(batchOf(events))).applied).toBe(true);

    // No stored field name comes from the data: only the adapter's own constant names.
    const names = fieldNames(storedDocuments(db));
    for (const value of hostile) expect(names.has(value)).toBe(false);
    for (const name of names) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);

    // Each value reads back exactly, through reports that group and filter on it.
    const top = await store.topPages({ ...RANGE, limit: 1_000 });
    expect(new Set(top.map((row) => row.path))).toEqual(new Set(hostile.flatMap((v) => [v, `${v}/next`])));
    for (const value of hostile) {
      expect(await store.topPages({ ...RANGE, path: value })).toEqual([
        expect.objectContaining({ path: value, views: 1 }),
      ]);
      expect((await store.sessions({ ...RANGE, path: value })).sessions).toBe(1);
      expect(await store.funnel(RANGE, [value, `${value}/next`])).toEqual([
        { step: value, sessions: 1 },
        { step: `${value}/next`, sessions: 1 },
      ]);
    }
    const referrers = await store.referrers({ ...RANGE, limit: 1_000 });
    expect(new Set(referrers.map((row) => row.referrerHost))).toEqual(new Set(hostile));
    const conversions = await store.conversions({ ...RANGE, limit: 1_000 });
    expect(new Set(conversions.conversions.map((c) => c.userId))).toEqual(new Set(hostile));
  });

  it('purge folds hostile paths, referrers, UTM values and countries into rollups as values, not field names', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    await store.ensureIndexes();
    const hostile = [...new Set(MONGO_HOSTILE.map((raw) => raw.slice(0, 100)))];
    const events = [];
    for (const [i, value] of hostile.entries()) {
      const session = fixtureSession({
        // Every other session is authenticated: `authenticatedBefore` folds those.
        userId: i % 2 === 0 ? null : value,
        referrerHost: value,
        utmSource: value,
        utmMedium: value,
        utmCampaign: value,
        browser: value.slice(0, 50),
        os: value.slice(0, 50),
        country: value.slice(0, 2),
      });
      const views = fixtureVisit(session, i % 3 === 0 ? [value] : [value, `${value}/next`]);
      events.push(...views.map(pageViewEvent), sessionEvent(finalSummary(session, views)));
    }
    expect((await store.write(batchOf(events))).applied).toBe(true);
    // A list, not an object keyed by path: `__proto__` is among the paths.
    const read = () =>
      Promise.all(
        [undefined, ...hostile].map((path) => {
          const q = { ...RANGE, limit: 1_000, ...(path === undefined ? {} : { path }) };
          return Promise.all([
            store.sessions(q),
            store.overview(q),
            store.entryPages(q),
            store.exitPages(q),
            store.countries(q),
            store.referrers(q),
            store.campaigns(q),
            store.devices(q),
            store.conversions(q),
          ]);
        }),
      );
    const before = await read();
    const after = FIXTURE_NOW + 2 * DAY_MS;
    expect((await store.purge(after, { authenticatedBefore: after })).sessions).toBe(hostile.length);
    expect(db.collection('anon_sessions').snapshot()).toEqual([]);
    expect(db.collection('anon_session_rollups').snapshot().length).toBeGreaterThan(0);
    expect(await read()).toEqual(before);

    const names = fieldNames(storedDocuments(db));
    for (const value of hostile) expect(names.has(value)).toBe(false);
    for (const name of names) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  it('bot sessions with hostile ids are flagged, stored and matched as values', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    const hostile = [...new Set(MONGO_HOSTILE.map((raw) => raw.slice(0, 100)))].filter((v) => v !== '');
    const views: PageView[] = [];
    const flags = [];
    for (const value of hostile) {
      const session = { ...fixtureSession(), id: value };
      const [human, flagging] = fixtureVisit(session, ['/h', value]) as [PageView, PageView];
      views.push(human);
      flags.push(botSessionEvent({ ...flagging, isBot: true, botReasons: ['rate'] }));
    }
    await store.write(batchOf(views.map(pageViewEvent)));
    expect((await store.write(batchOf(flags))).written).toBe(hostile.length);
    // Every human view moved to the bots, each exactly once, and nothing else.
    expect(await store.topPages({ ...RANGE, includeBots: true })).toEqual([
      expect.objectContaining({ path: '/h', views: hostile.length, anonymousViews: hostile.length }),
    ]);
    expect(await store.topPages(RANGE)).toEqual([]);
    expect((await store.bots(RANGE)).views).toBe(hostile.length);
    expect(
      new Set(
        db
          .collection('anon_bot_sessions')
          .snapshot()
          .map((doc) => doc._id),
      ),
    ).toEqual(new Set(hostile));
    const names = fieldNames(storedDocuments(db));
    for (const value of hostile) expect(names.has(value)).toBe(false);
    for (const name of names) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  it('an operator object where a string belongs is refused before anything is written', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    const session = fixtureSession();
    const [view] = fixtureVisit(session, ['/']) as [PageView];
    const poisoned = [
      { ...view, path: { $gt: '' } },
      { ...view, sessionId: { $ne: null } },
      { ...view, at: { $where: 'sleep(1000)' } },
      { ...view, botReasons: [{ $set: 1 }] },
      { ...view, isBot: 'false' },
    ];
    for (const bad of poisoned) {
      const batch = {
        id: `b-${Math.random()}`,
        events: [pageViewEvent(view), { type: 'pageview', id: 'x', view: bad }],
      };
      await expectInvalid(store.write(batch as unknown as EventBatch));
    }
    await expectInvalid(store.write({ id: { $ne: null }, events: [] } as unknown as EventBatch));
    await expectInvalid(
      store.write({ id: 'b', events: [{ type: '$where', id: 'x' }] } as unknown as EventBatch),
    );
    await expectInvalid(
      store.write({
        id: 'b',
        events: [{ type: 'identify', id: 'x', identify: {} }],
      } as unknown as EventBatch),
    );
    // A refused batch leaves no trace: nothing stored, not even the valid view beside the bad one.
    expect(storedDocuments(db)).toEqual([]);
  });

  it('report queries with operator objects, bad days or bad limits are refused', async () => {
    const store = mongoStore(new EmulatedDb());
    const bad: unknown[] = [
      { ...RANGE, path: { $ne: null } },
      { ...RANGE, path: ['/'] },
      { from: { $gte: '' }, to: '2026-01-31' },
      { from: '2026-01-01', to: '2026-01-31T00:00' },
      { from: '$where', to: '2026-01-31' },
      { ...RANGE, limit: -1 },
      { ...RANGE, limit: 1.5 },
      { ...RANGE, limit: '10' },
      { ...RANGE, includeBots: 'yes' },
      null,
    ];
    for (const query of bad) {
      for (const report of [
        'topPages',
        'sessions',
        'conversions',
        'journeys',
        'referrers',
        'campaigns',
        'devices',
        'bots',
        'aggregates',
      ] as const) {
        await expectInvalid(store[report](query as never));
      }
      await expectInvalid(store.funnel(query as never, ['/']));
    }
    await expectInvalid(store.funnel(RANGE, [{ $ne: null } as unknown as string]));
    await expectInvalid(store.journeys({ ...RANGE, maxSteps: 0 }));
    await expectInvalid(store.visitorSessions([{ $ne: null } as unknown as string], 0, 1));
    await expectInvalid(store.visitorSessions(['k'], Number.NaN, 1));
    await expectInvalid(store.purge(Number.POSITIVE_INFINITY));
    await expectInvalid(store.purge({ $lt: 1 } as unknown as number));
    await expectInvalid(store.purge(1, { authenticatedBefore: { $lt: 1 } as unknown as number }));
    await expectInvalid(store.purge(1, { dryRun: { $ne: false } as unknown as boolean }));
    await expectInvalid(store.claimDailyJob({ $ne: null } as unknown as string, '2026-01-01'));
    await expectInvalid(store.claimDailyJob('retention', { $gt: '' } as unknown as string));
  });

  it('a path pattern is matched literally apart from `*`, and a pathological pattern returns promptly', async () => {
    const store = mongoStore(new EmulatedDb());
    const long = `/${'a'.repeat(499)}`;
    const session = fixtureSession();
    const views = fixtureVisit(session, [long, '/a.c', '/abc', '/a+c', '/(x)|y']);
    await store.write(batchOf([...views.map(pageViewEvent), sessionEvent(finalSummary(session, views))]));
    const paths = async (path: string) =>
      (await store.topPages({ ...RANGE, path })).map((row) => row.path).sort();
    expect(await paths('/a.c')).toEqual(['/a.c']);
    expect(await paths('/a+c')).toEqual(['/a+c']);
    expect(await paths('/(x)|y')).toEqual(['/(x)|y']);
    expect(await paths('/a*c')).toEqual(['/a+c', '/a.c', '/abc']);
    expect(await paths('/[a-z]*')).toEqual([]);
    const started = performance.now();
    expect(await paths(`/${'*a'.repeat(40)}*b`)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await store.funnel(RANGE, [`/${'*a'.repeat(40)}*b`])).toEqual([
      { step: `/${'*a'.repeat(40)}*b`, sessions: 0 },
    ]);
  });

  it('refuses a collection prefix MongoDB would read as an operator or a namespace', () => {
    for (const prefix of ['$anon_', 'a.b', 'x y', 'é', 'a'.repeat(41)]) {
      expect(() => mongoStore(new EmulatedDb(), { prefix })).toThrow(/\[anon\] \[mongo\] prefix/);
    }
    expect(() => mongoStore({} as never)).toThrow(/needs a Db/);
  });

  it('takes retention from the tracker through init, and refuses the removed retentionDays option', () => {
    const removed = { retentionDays: 30 } as never;
    expect(() => mongoStore(new EmulatedDb(), removed)).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(/init\(\)/) }),
    );
    const store = mongoStore(new EmulatedDb());
    expect(() => store.init({ timeZone: 'UTC', retentionDays: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(/retentionDays/) }),
    );
  });
});
