import type { DailyAggregate, Session } from '@anon/core';
import { COLLECTION_SUFFIXES, type MongoDbLike, type MongoDocument } from '@anon/mongo';
import type { StoreProbe } from '@anon/testing';

// The probe reads the collections directly, with its own mapping, so the contract checks what MongoDB holds
// rather than what the store's read path says.

const SESSION_FIELDS: (keyof Session)[] = [
  'visitorKey',
  'userId',
  'startedAt',
  'day',
  'lastSeenAt',
  'endedAt',
  'durationMs',
  'pageViews',
  'landingPath',
  'exitPath',
  'isBot',
  'convertedUserId',
  'convertedAt',
  'referrer',
  'referrerHost',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmTerm',
  'utmContent',
  'device',
  'browser',
  'os',
  'country',
  'city',
];

const AGGREGATE_FIELDS: (keyof DailyAggregate)[] = [
  'day',
  'path',
  'views',
  'authenticatedViews',
  'anonymousViews',
  'uniqueVisitors',
  'timeOnPageSumMs',
  'timeOnPageCount',
  'scrollDepthSum',
  'scrollDepthCount',
  'interactions',
  'mobileViews',
  'desktopViews',
  'tabletViews',
  'botViews',
  'botAuthenticatedViews',
];

function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A raw probe of the store's collections under `prefix`. */
export function mongoProbe(db: MongoDbLike, prefix: string): StoreProbe {
  const all = (suffix: string, projection?: MongoDocument) =>
    db
      .collection(`${prefix}${suffix}`)
      .find({}, projection === undefined ? {} : { projection })
      .toArray();
  return {
    async pageViewIds() {
      return (await all('page_views', { _id: 1 })).map((doc) => String(doc._id));
    },
    async metricIds() {
      return (await all('page_metrics', { _id: 1 })).map((doc) => String(doc._id));
    },
    async conversionIds() {
      return (await all('conversions', { _id: 1 })).map((doc) => String(doc._id));
    },
    async session(id) {
      const [doc] = await db.collection(`${prefix}sessions`).find({ _id: id }).toArray();
      if (doc === undefined) return null;
      const session: Record<string, unknown> = { id: doc._id };
      for (const field of SESSION_FIELDS) session[field] = doc[field] ?? null;
      return session as unknown as Session;
    },
    async botRowIds() {
      const flagged = (suffix: string) =>
        db
          .collection(`${prefix}${suffix}`)
          .find({ isBot: true }, { projection: { _id: 1 } })
          .toArray()
          .then((docs) => docs.map((doc) => String(doc._id)));
      const [pageViews, metrics] = await Promise.all([flagged('page_views'), flagged('page_metrics')]);
      return { pageViews, metrics };
    },
    async tablesHolding(text) {
      // Every collection of the store, whole documents as JSON: any field holding `text` shows.
      const found: string[] = [];
      for (const suffix of Object.values(COLLECTION_SUFFIXES)) {
        const docs = await all(suffix);
        if (docs.some((doc) => JSON.stringify(doc).includes(text))) found.push(suffix);
      }
      return found;
    },
    async aggregates() {
      const rows = (await all('daily_pages')).map((doc) => {
        const row: Record<string, unknown> = {};
        // A missing `botAuthenticatedViews` reads as 0 (rows written before it existed); every other field must be there.
        for (const field of AGGREGATE_FIELDS) {
          row[field] = field === 'botAuthenticatedViews' ? (doc[field] ?? 0) : doc[field];
        }
        return row as unknown as DailyAggregate;
      });
      return rows.sort((a, b) => byCodePoint(a.day, b.day) || byCodePoint(a.path, b.path));
    },
  };
}
