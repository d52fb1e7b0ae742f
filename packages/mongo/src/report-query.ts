import { matchPath, type ReportQuery } from '@anon/core';
import { type CheckedQuery, checkQuery as checkReportQuery } from '@anon/core/adapter';
import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { SOURCE } from './errors.js';

export type { CheckedQuery };

/**
 * Check a report query by core's one rule before any of it reaches MongoDB: a day that is not a real
 * `YYYY-MM-DD` day, a path that is not a string (an object would read as an operator) or a bad limit is
 * `AnonError('invalid_input')`. `report` is kept for call sites; the message names the field.
 */
export function checkQuery(q: ReportQuery, _report: string): CheckedQuery {
  return checkReportQuery(q, SOURCE);
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
