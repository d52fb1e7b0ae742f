import type { SummaryPart, ViewFold } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import type { MongoDocument } from './db-like.js';

/** The summary fields `mergeLive` reads, projected. */
export const SUMMARY_PART_PROJECTION: MongoDocument = {
  day: 1,
  landingPath: 1,
  exitPath: 1,
  country: 1,
  isBot: 1,
  userId: 1,
  pageViews: 1,
  startedAt: 1,
  lastSeenAt: 1,
};

/** A stored session document as core's `SummaryPart`. */
export function summaryPartOf(doc: MongoDocument): SummaryPart {
  return {
    day: String(doc.day),
    landingPath: String(doc.landingPath),
    exitPath: String(doc.exitPath),
    country: (doc.country as string | null | undefined) ?? null,
    isBot: doc.isBot === true,
    userId: (doc.userId as string | null | undefined) ?? null,
    pageViews: Number(doc.pageViews),
    startedAt: Number(doc.startedAt),
    lastSeenAt: Number(doc.lastSeenAt),
  };
}

/**
 * Every stored page view of each session in `ids`, folded on the server by `sessionId` (core's `foldViews`
 * rule: landing view by lowest `seq` then id, exit view by highest), so a session's landing view is found even
 * when it lies before a report's range. `match` narrows the views (reports leave out a committed purge's).
 */
export async function viewFolds(
  c: Collections,
  ids: string[],
  match: MongoDocument = {},
): Promise<Map<string, ViewFold>> {
  const folds = new Map<string, ViewFold>();
  if (ids.length === 0) return folds;
  const docs = await c.pageViews
    .aggregate([
      { $match: { ...match, sessionId: { $in: ids } } },
      { $sort: { sessionId: 1, seq: 1, _id: 1 } },
      {
        $group: {
          _id: '$sessionId',
          count: { $sum: 1 },
          firstAt: { $min: '$at' },
          lastAt: { $max: '$at' },
          isBot: { $max: '$isBot' },
          authenticated: { $max: { $cond: [{ $eq: [{ $ifNull: ['$userId', null] }, null] }, 0, 1] } },
          landingDay: { $first: '$day' },
          landingPath: { $first: '$path' },
          landingCountry: { $first: '$country' },
          exitPath: { $last: '$path' },
        },
      },
    ])
    .toArray();
  for (const doc of docs) {
    folds.set(String(doc._id), {
      count: Number(doc.count),
      firstAt: Number(doc.firstAt),
      lastAt: Number(doc.lastAt),
      isBot: doc.isBot === true,
      authenticated: Number(doc.authenticated) === 1,
      landingDay: String(doc.landingDay),
      landingPath: String(doc.landingPath),
      landingCountry: (doc.landingCountry as string | null | undefined) ?? null,
      exitPath: String(doc.exitPath),
    });
  }
  return folds;
}
