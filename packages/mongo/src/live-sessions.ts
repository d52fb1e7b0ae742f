import type { DeviceType } from '@anon/core';
import type { SessionSource, SummaryPart, ViewFold } from '@anon/core/adapter';
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
  referrerHost: 1,
  utmSource: 1,
  utmMedium: 1,
  utmCampaign: 1,
  device: 1,
  browser: 1,
  os: 1,
};

const nullable = (value: unknown): string | null => (value as string | null | undefined) ?? null;

/** The source and device fields of a session or page view document. */
function sourceOf(doc: MongoDocument): SessionSource {
  return {
    referrerHost: nullable(doc.referrerHost),
    utmSource: nullable(doc.utmSource),
    utmMedium: nullable(doc.utmMedium),
    utmCampaign: nullable(doc.utmCampaign),
    device: String(doc.device) as DeviceType,
    browser: nullable(doc.browser),
    os: nullable(doc.os),
  };
}

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
    ...sourceOf(doc),
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
          landing: {
            $first: {
              referrerHost: '$referrerHost',
              utmSource: '$utmSource',
              utmMedium: '$utmMedium',
              utmCampaign: '$utmCampaign',
              device: '$device',
              browser: '$browser',
              os: '$os',
            },
          },
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
      landingCountry: nullable(doc.landingCountry),
      landingSource: sourceOf(doc.landing as MongoDocument),
      exitPath: String(doc.exitPath),
    });
  }
  return folds;
}
