import type { Day, EventBatch, Millis, PurgeOptions, Session, Store, StoreSettings } from '@anon/core';
import {
  checkPurge,
  checkStoreSettings,
  checkVisitorSessions,
  compareCodePoints,
  DEFAULT_STORE_SETTINGS,
} from '@anon/core/adapter';
import { type CollectionKey, collectionNames, openCollections } from './collections.js';
import { claimDailyJob } from './daily-jobs.js';
import type { MongoDbLike } from './db-like.js';
import { eraseUser } from './erase.js';
import { mongoError, SOURCE, wrapDriverError } from './errors.js';
import { ensureIndexes } from './indexes.js';
import { purge } from './purge.js';
import { createReports } from './reports.js';
import { fromDocument, SESSION_SHAPE } from './schema.js';
import { writeBatch } from './write.js';

const DAY_MS = 86_400_000;

/**
 * Days past `retentionDays` after which the TTL index deletes an anonymous session, its page views and metrics
 * that no purge removed. The daily purge (the worker's automatic retention) removes them first and keeps their
 * session-level figures in rollups; the TTL monitor cannot, so it only acts when no purge ran for days.
 */
export const TTL_GRACE_DAYS = 3;

/** Options of {@link mongoStore}. */
export interface MongoStoreOptions {
  /**
   * Prefix of every collection name (letters, digits, `_`), so several sites or test runs can share a database.
   * @default 'anon_'
   */
  prefix?: string;
}

/** The MongoDB store: the `Store` port, plus index creation. */
export interface MongoStore extends Store {
  /** Claim a once-a-day job across every instance sharing the database (see `StoreWriter.claimDailyJob`). */
  claimDailyJob(job: string, day: Day): Promise<boolean>;
  /**
   * Take the tracker's `timeZone` and `retentionDays` (the tracker calls it at start). `retentionDays` sets the
   * TTL of anonymous sessions, their page views and metrics, and unique-visitor entries written from now on;
   * aggregates, conversions and sessions with a user are kept. Until then: UTC and 90 days.
   */
  init(settings: StoreSettings): void;
  /** Create every index the reports need and the TTL indexes of retention; safe to call at each start. */
  ensureIndexes(): Promise<string[]>;
  /** The full name of each collection, after the prefix. */
  readonly collections: Readonly<Record<CollectionKey, string>>;
}

/**
 * The store of record on MongoDB, over a `Db` from the official driver (`client.db(name)`). It never closes
 * the client: the app that built it owns it. Call `ensureIndexes()` once before the first write.
 *
 * @example
 * const client = new MongoClient(process.env.MONGO_URL!);
 * const store = mongoStore(client.db('analytics'));
 * await store.ensureIndexes();
 */
export function mongoStore(db: MongoDbLike, options: MongoStoreOptions = {}): MongoStore {
  if ((options as { retentionDays?: unknown }).retentionDays !== undefined) {
    // Removed in 0.x: a JavaScript caller still passing it would otherwise keep the default TTL unawares.
    throw mongoError(
      'invalid_config',
      'mongoStore() no longer takes retentionDays: the tracker hands its own through store.init()',
    );
  }
  const names = collectionNames(options.prefix ?? 'anon_');
  // The tracker's defaults until its `init` hands over its own settings.
  let settings: StoreSettings = DEFAULT_STORE_SETTINGS;
  const collections = openCollections(db, names);
  const reports = createReports(collections);

  // Every call goes through here: typed input errors pass as they are, driver errors become AnonErrors.
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw wrapDriverError(operation, error);
    }
  };

  const store: MongoStore = {
    collections: names,
    init(given: StoreSettings): void {
      settings = checkStoreSettings(given, SOURCE);
    },
    ensureIndexes: () => guard('ensureIndexes()', () => ensureIndexes(collections)),
    write: (batch: EventBatch) =>
      guard('write()', () =>
        writeBatch(
          {
            collections,
            retentionMs: settings.retentionDays * DAY_MS,
            expiryMs: (settings.retentionDays + TTL_GRACE_DAYS) * DAY_MS,
            now: () => Date.now(),
          },
          batch,
        ),
      ),
    visitorSessions: (visitorKeys: string[], since: Millis, until: Millis) =>
      guard('visitorSessions()', async () => {
        const keys = checkVisitorSessions(visitorKeys, since, until, SOURCE);
        if (keys.length === 0) return [];
        const docs = await collections.sessions
          .find({ visitorKey: { $in: keys }, startedAt: { $gte: since, $lte: until } })
          .toArray();
        return docs
          .map((doc) => fromDocument<Session>(SESSION_SHAPE, doc))
          .sort((a, b) => a.startedAt - b.startedAt || compareCodePoints(a.id, b.id));
      }),
    purge: (before: Millis, purgeOptions?: PurgeOptions) =>
      guard('purge()', () =>
        purge(
          { collections, timeZone: settings.timeZone, now: () => Date.now() },
          checkPurge(before, purgeOptions, SOURCE),
        ),
      ),
    claimDailyJob: (job: string, day: Day) =>
      guard('claimDailyJob()', () => claimDailyJob(collections, job, day, () => Date.now())),
    eraseUser: (userId: string) => guard('eraseUser()', () => eraseUser(collections, userId)),
    topPages: (q) => guard('topPages()', () => reports.topPages(q)),
    sessions: (q) => guard('sessions()', () => reports.sessions(q)),
    conversions: (q) => guard('conversions()', () => reports.conversions(q)),
    funnel: (q, steps) => guard('funnel()', () => reports.funnel(q, steps)),
    journeys: (q) => guard('journeys()', () => reports.journeys(q)),
    referrers: (q) => guard('referrers()', () => reports.referrers(q)),
    campaigns: (q) => guard('campaigns()', () => reports.campaigns(q)),
    devices: (q) => guard('devices()', () => reports.devices(q)),
    overview: (q) => guard('overview()', () => reports.overview(q)),
    entryPages: (q) => guard('entryPages()', () => reports.entryPages(q)),
    exitPages: (q) => guard('exitPages()', () => reports.exitPages(q)),
    countries: (q) => guard('countries()', () => reports.countries(q)),
    bots: (q) => guard('bots()', () => reports.bots(q)),
    aggregates: (q) => guard('aggregates()', () => reports.aggregates(q)),
  };
  return store;
}
