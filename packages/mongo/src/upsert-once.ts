import type { MongoCollectionLike, MongoDocument, MongoUpdateOneModel } from './db-like.js';
import { duplicateKeyIndexes, mongoError } from './errors.js';

/** Upserts of one document that lose a race to a concurrent insert are retried this many times. */
const MAX_ATTEMPTS = 5;

/** How {@link upsertOnce} builds and checks each upsert. */
export interface UpsertOnce<T> {
  /** The upsert of one item; its filter selects the document by `_id` (and, for a guarded one, more). */
  op(item: T): MongoUpdateOneModel['updateOne'];
  /** The `_id` the item's upsert targets. */
  id(item: T): unknown;
  /**
   * For an upsert guarded by a marker (its filter excludes a document already marked, so a replay hits
   * E11000): what a marked document matches, besides its `_id`. Null for an upsert that always matches its
   * document (an update pipeline deciding inside), where E11000 can only be a concurrent first insert.
   */
  done: MongoDocument | null;
  /** What the upserts are, for the error after too many conflicts (`aggregates of batch …`). */
  what: string;
}

/**
 * Send every item's upsert in one unordered `bulkWrite`, each applied at most once. A duplicate key (E11000)
 * is either a document the guarded upsert already reached (its filter excludes it, so the upsert tried to
 * insert it again: done) or one a concurrent writer inserted first (retry): for a guarded upsert a read of
 * the marker tells which; an unguarded one is always retried. Returns the items whose upsert inserted their
 * document.
 */
export async function upsertOnce<T>(
  collection: MongoCollectionLike,
  items: readonly T[],
  how: UpsertOnce<T>,
): Promise<Set<T>> {
  const inserted = new Set<T>();
  let pending = items;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= MAX_ATTEMPTS) {
      throw mongoError('store_failed', `${how.what} kept conflicting after ${attempt} attempts`);
    }
    const ops = pending.map((item) => ({ updateOne: how.op(item) }));
    let duplicates: Set<number>;
    try {
      const result = await collection.bulkWrite(ops, { ordered: false });
      for (const index of Object.keys(result.upsertedIds ?? {})) inserted.add(pending[Number(index)]!);
      return inserted;
    } catch (error) {
      const indexes = duplicateKeyIndexes(error);
      if (indexes === null) throw error;
      duplicates = indexes;
      // The operations that did not fail were applied; which of them inserted is not known from the error,
      // and nothing here depends on it for them (a guarded upsert is read back by its marker).
    }
    const suspects = pending.filter((_, index) => duplicates.has(index));
    if (how.done === null) {
      pending = suspects;
      continue;
    }
    const reached = await collection
      .find({ _id: { $in: suspects.map(how.id) }, ...how.done }, { projection: { _id: 1 } })
      .toArray();
    const done = new Set(reached.map((doc) => canonicalId(doc._id)));
    pending = suspects.filter((item) => !done.has(canonicalId(how.id(item))));
  }
  return inserted;
}

/**
 * A stable text form of an `_id`: a string, or a document this package built with a fixed field order (and
 * that MongoDB returns in the same order).
 */
export function canonicalId(id: unknown): string {
  return typeof id === 'string' ? id : JSON.stringify(id);
}
