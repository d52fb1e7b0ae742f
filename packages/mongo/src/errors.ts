import { AnonError, type AnonErrorCode } from '@anon/core';

/** The `source` of every error this package throws: messages read `[anon] [mongo] …`. */
export const SOURCE = 'mongo';

/** A typed error of this package. */
export function mongoError(code: AnonErrorCode, message: string, cause?: unknown): AnonError {
  return new AnonError(code, message, cause === undefined ? { source: SOURCE } : { source: SOURCE, cause });
}

// Driver error classes that mean "the server could not be reached", matched by name so that core's
// structural adapter never imports the driver at run time.
const UNREACHABLE = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
]);

/** Wrap a driver failure: unreachable servers become `store_unavailable`, the rest `store_failed`. */
export function wrapDriverError(operation: string, cause: unknown): AnonError {
  if (cause instanceof AnonError) return cause;
  const name = cause instanceof Error ? cause.name : '';
  const detail = cause instanceof Error ? cause.message : String(cause);
  const code: AnonErrorCode = UNREACHABLE.has(name) ? 'store_unavailable' : 'store_failed';
  return mongoError(code, `${operation} failed: ${detail}`, cause);
}

const DUPLICATE_KEY = 11000;

/** True for a driver error that is a duplicate `_id` (E11000) and nothing else. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY;
}

/**
 * For a failed unordered `bulkWrite`, the indexes of the operations that hit a duplicate key, or null when any
 * other error occurred (then the whole call must fail). A write concern error is never a duplicate.
 */
export function duplicateKeyIndexes(error: unknown): Set<number> | null {
  if (typeof error !== 'object' || error === null) return null;
  const raw = (error as { writeErrors?: unknown }).writeErrors;
  if (raw === undefined || raw === null) return null;
  if ((error as { writeConcernError?: unknown }).writeConcernError) return null;
  // The driver exposes one error as an object and several as an array.
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) return null;
  const indexes = new Set<number>();
  for (const item of list) {
    const { code, index } = item as { code?: unknown; index?: unknown };
    if (code !== DUPLICATE_KEY || typeof index !== 'number') return null;
    indexes.add(index);
  }
  return indexes;
}
