import { matchPath, type ReportQuery } from '@anon/core';
import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { mongoError } from './errors.js';

/** A report query after checking, with its defaults applied. */
export interface CheckedQuery {
  from: string;
  to: string;
  path: string | null;
  includeBots: boolean;
  limit: number;
  /** Whether the caller gave `limit` (only `aggregates` cares: without one it returns every row). */
  limited: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** @default 100 */
const DEFAULT_LIMIT = 100;
const MAX_PATTERN = 1_000;

/**
 * Check a report query's types before any of it reaches MongoDB: a day that is not `YYYY-MM-DD`, a path that
 * is not a string (an object would read as an operator) or a bad limit is `AnonError('invalid_input')`.
 */
export function checkQuery(q: ReportQuery, report: string): CheckedQuery {
  if (typeof q !== 'object' || q === null)
    throw mongoError('invalid_input', `${report}() needs a query object`);
  for (const field of ['from', 'to'] as const) {
    const day = q[field];
    if (typeof day !== 'string' || !DAY.test(day)) {
      throw mongoError('invalid_input', `${report}() needs "${field}" as YYYY-MM-DD`);
    }
  }
  if (
    q.path !== undefined &&
    q.path !== null &&
    (typeof q.path !== 'string' || q.path.length > MAX_PATTERN)
  ) {
    throw mongoError(
      'invalid_input',
      `${report}() needs "path" as a string of at most ${MAX_PATTERN} characters`,
    );
  }
  if (q.includeBots !== undefined && typeof q.includeBots !== 'boolean') {
    throw mongoError('invalid_input', `${report}() needs "includeBots" as a boolean`);
  }
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw mongoError('invalid_input', `${report}() needs "limit" as a non-negative integer`);
  }
  return {
    from: q.from,
    to: q.to,
    path: q.path ?? null,
    includeBots: q.includeBots === true,
    limit,
    limited: q.limit !== undefined,
  };
}

/** The fields a report's path filter applies to: constants, never request data. */
export type PathField = 'path' | 'landingPath' | 'firstTouch.landingPath';

/** The day-range condition of a report. */
export function dayRange(q: CheckedQuery): MongoDocument {
  return { $gte: q.from, $lte: q.to };
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * The condition on `field` for the query's path: `$eq` for an exact path; for a pattern, the distinct values
 * of `field` under `match` that share its literal prefix (an anchored regex, which can use an index), filtered
 * by core's `matchPath`. A pattern never becomes a regular expression with more than a literal prefix, so a
 * hostile pattern cannot make the server backtrack.
 */
export async function pathCondition(
  collection: MongoCollectionLike,
  match: MongoDocument,
  field: PathField,
  pattern: string,
): Promise<MongoDocument> {
  if (!pattern.includes('*')) return { $eq: pattern };
  const prefix = pattern.slice(0, pattern.indexOf('*'));
  const narrowed =
    prefix === '' ? match : { ...match, [field]: { $regex: new RegExp(`^${escapeRegExp(prefix)}`) } };
  const values = await collection
    .aggregate([{ $match: narrowed }, { $group: { _id: `$${field}` } }])
    .toArray();
  const matching = values
    .map((doc) => doc._id)
    .filter((v): v is string => typeof v === 'string' && matchPath(pattern, v));
  return { $in: matching };
}

/** `match` with the query's path condition on `field`, if the query has a path. */
export async function withPath(
  collection: MongoCollectionLike,
  match: MongoDocument,
  field: PathField,
  path: string | null,
): Promise<MongoDocument> {
  if (path === null) return match;
  return { ...match, [field]: await pathCondition(collection, match, field, path) };
}
