import type { MongoCollectionLike, MongoDbLike } from './db-like.js';
import { mongoError } from './errors.js';

/** The collection of each kind of record, by the name the docs use. */
export interface Collections {
  sessions: MongoCollectionLike;
  pageViews: MongoCollectionLike;
  metrics: MongoCollectionLike;
  conversions: MongoCollectionLike;
  /** Daily aggregates, `_id: { day, path }`. */
  dailyPages: MongoCollectionLike;
  /** One entry per (day, path, visitor key): what makes `uniqueVisitors` exact. */
  uniqueVisitors: MongoCollectionLike;
  /** The batch ledger, `_id = batch id`. */
  batches: MongoCollectionLike;
  /** Sessions a `botsession` event flagged, `_id` = session id: their rows are bots', stored or to come. */
  botSessions: MongoCollectionLike;
  /** What purges kept of the sessions they removed: `SessionRollup` rows, `_id` = the key fields. */
  sessionRollups: MongoCollectionLike;
  /** What purges kept of the visitors of the page views they removed: `VisitorRollup` rows, `_id: { day, path }`. */
  visitorRollups: MongoCollectionLike;
  /** The purge under way, if any (`_id: 'active'`): what makes an interrupted purge resumable. */
  purgeRuns: MongoCollectionLike;
  /** `claimDailyJob` claims, `_id: <job>:<day>`. */
  dailyJobs: MongoCollectionLike;
  /** The full name of each collection (for `$lookup`). */
  names: Readonly<Record<CollectionKey, string>>;
}

/** The kinds of record, one collection each. */
export type CollectionKey =
  | 'sessions'
  | 'pageViews'
  | 'metrics'
  | 'conversions'
  | 'dailyPages'
  | 'uniqueVisitors'
  | 'batches'
  | 'botSessions'
  | 'sessionRollups'
  | 'visitorRollups'
  | 'purgeRuns'
  | 'dailyJobs';

/** Collection names without the prefix. */
export const COLLECTION_SUFFIXES: Readonly<Record<CollectionKey, string>> = Object.freeze({
  sessions: 'sessions',
  pageViews: 'page_views',
  metrics: 'page_metrics',
  conversions: 'conversions',
  dailyPages: 'daily_pages',
  uniqueVisitors: 'unique_visitors',
  batches: 'batches',
  botSessions: 'bot_sessions',
  sessionRollups: 'session_rollups',
  visitorRollups: 'visitor_rollups',
  purgeRuns: 'purge_runs',
  dailyJobs: 'daily_jobs',
});

// Letters, digits and `_`: a prefix never carries a `$` or a `.`, which MongoDB gives meaning to.
const PREFIX = /^[A-Za-z0-9_]{0,40}$/;

/** The full collection names for `prefix`; throws `invalid_config` for a prefix MongoDB would misread. */
export function collectionNames(prefix: string): Record<CollectionKey, string> {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw mongoError(
      'invalid_config',
      `prefix must be up to 40 letters, digits or "_", got ${JSON.stringify(prefix)}`,
    );
  }
  const names = {} as Record<CollectionKey, string>;
  for (const key of Object.keys(COLLECTION_SUFFIXES) as CollectionKey[]) {
    names[key] = `${prefix}${COLLECTION_SUFFIXES[key]}`;
  }
  return names;
}

/** Open every collection of the store on `db`. */
export function openCollections(db: MongoDbLike, names: Record<CollectionKey, string>): Collections {
  if (typeof db !== 'object' || db === null || typeof db.collection !== 'function') {
    throw mongoError('invalid_config', 'mongoStore() needs a Db (client.db(name)) from the mongodb driver');
  }
  return {
    sessions: db.collection(names.sessions),
    pageViews: db.collection(names.pageViews),
    metrics: db.collection(names.metrics),
    conversions: db.collection(names.conversions),
    dailyPages: db.collection(names.dailyPages),
    uniqueVisitors: db.collection(names.uniqueVisitors),
    batches: db.collection(names.batches),
    botSessions: db.collection(names.botSessions),
    sessionRollups: db.collection(names.sessionRollups),
    visitorRollups: db.collection(names.visitorRollups),
    purgeRuns: db.collection(names.purgeRuns),
    dailyJobs: db.collection(names.dailyJobs),
    names,
  };
}
