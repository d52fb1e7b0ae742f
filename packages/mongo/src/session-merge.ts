import type { Session } from '@anon/core';
import type { MongoDocument } from './db-like.js';

/** A value placed in an aggregation expression: `$literal`, so a string like `$where` stays a string. */
export function literal(value: unknown): MongoDocument {
  return { $literal: value };
}

// Fields kept from the first write of a session (docs/semantics.md, "Store").
const FIRST_WRITE_FIELDS = [
  'visitorKey',
  'day',
  'landingPath',
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
] as const satisfies readonly (keyof Session)[];

/**
 * The update pipeline that merges `incoming` into the stored session atomically (or creates it, as an upsert):
 * `startedAt = min`, `lastSeenAt`/`endedAt`/`pageViews = max`, `exitPath` from the write with the greater
 * `(lastSeenAt, pageViews)`, `userId`/`convertedUserId = stored ?? incoming` (`convertedAt` with
 * its user id), `isBot = or`, every
 * other field from the first write. `expireAt` (the TTL field) is set while the session is anonymous and
 * removed once it has a user. Every incoming value is a `$literal`.
 */
export function sessionMergePipeline(incoming: Session, retentionMs: number): MongoDocument[] {
  // An upsert starts from `{ _id }` alone; `startedAt` is always written, so its absence means "first write".
  const isNew = { $eq: [{ $ifNull: ['$startedAt', null] }, null] };
  const pick = (field: keyof Session, merged: unknown): MongoDocument => ({
    $cond: [isNew, literal(incoming[field]), merged],
  });
  const incomingIsLater = {
    $or: [
      { $gt: [literal(incoming.lastSeenAt), '$lastSeenAt'] },
      {
        $and: [
          { $eq: [literal(incoming.lastSeenAt), '$lastSeenAt'] },
          { $gt: [literal(incoming.pageViews), '$pageViews'] },
        ],
      },
    ],
  };
  const merge: MongoDocument = {
    startedAt: pick('startedAt', { $min: ['$startedAt', literal(incoming.startedAt)] }),
    lastSeenAt: pick('lastSeenAt', { $max: ['$lastSeenAt', literal(incoming.lastSeenAt)] }),
    // `$max` skips nulls, so a null on either side keeps the other.
    endedAt: pick('endedAt', { $max: ['$endedAt', literal(incoming.endedAt)] }),
    pageViews: pick('pageViews', { $max: ['$pageViews', literal(incoming.pageViews)] }),
    exitPath: pick('exitPath', { $cond: [incomingIsLater, literal(incoming.exitPath), '$exitPath'] }),
    userId: { $ifNull: ['$userId', literal(incoming.userId)] },
    isBot: pick('isBot', { $or: ['$isBot', literal(incoming.isBot)] }),
    convertedUserId: { $ifNull: ['$convertedUserId', literal(incoming.convertedUserId)] },
    // The conversion pair moves together: a user id never sits beside another conversion's time.
    convertedAt: {
      $cond: [
        { $eq: [{ $ifNull: ['$convertedUserId', null] }, null] },
        literal(incoming.convertedAt),
        '$convertedAt',
      ],
    },
  };
  for (const field of FIRST_WRITE_FIELDS) merge[field] = pick(field, `$${field}`);
  const anonymous = { $and: [{ $eq: ['$userId', null] }, { $eq: ['$convertedUserId', null] }] };
  return [
    { $set: merge },
    {
      $set: {
        durationMs: { $subtract: ['$lastSeenAt', '$startedAt'] },
        expireAt: { $cond: [anonymous, { $toDate: { $add: ['$startedAt', retentionMs] } }, '$$REMOVE'] },
      },
    },
  ];
}
