import type { MongoCollectionLike, MongoDocument } from './db-like.js';
import { literal } from './session-merge.js';
import { canonicalId, upsertOnce } from './upsert-once.js';

// One entry per (day, path, visitor key), `n` = that visitor's human page views counted in the aggregate row
// of (day, path). The visitor counts in `uniqueVisitors` while n > 0: a page view stored human adds 1, one a
// `botsession` moves to the bots takes 1 away. Each batch changes an entry at most once, in one
// single-document update pipeline that also records, in the entry's `log`, the batch and the change it made
// to `uniqueVisitors` (+1 when n became positive, −1 when it fell to 0 or below): a replay finds its record
// and changes nothing, and the batch reads its changes back to increment the aggregate rows. The records are
// pulled once the batch is in the ledger; an entry left at n = 0 with no record is deleted (n = 0 means "not
// counted", present or not). n < 0 is a page view moved to the bots before the batch that stored it had added
// it: the later add brings it back to 0, and the visitor never counted.

/** Cap on the records an entry keeps (they are pulled once their batch is in the ledger). */
const MAX_LOG = 1_000;

/** The `_id` of an entry. */
export interface EntryId {
  day: string;
  path: string;
  visitorKey: string;
}

/** What one batch changes in one entry. */
export interface EntryChange {
  id: EntryId;
  /** Human page views added (positive) or moved to the bots (negative), net. */
  change: number;
  /** TTL of a new entry. */
  expireAt: Date;
}

/** Net changes by entry, from the page views a batch stored human (+1) and those it moved to the bots (−1). */
export class EntryChanges {
  readonly #changes = new Map<string, EntryChange>();

  add(day: string, path: string, visitorKey: string | null, change: number, expireAt: Date): void {
    if (visitorKey === null) return;
    const id: EntryId = { day, path, visitorKey };
    const key = canonicalId(id);
    const found = this.#changes.get(key);
    if (found === undefined) this.#changes.set(key, { id, change, expireAt });
    else found.change += change;
  }

  /** The entries the batch changes (a net change of 0 changes nothing). */
  list(): EntryChange[] {
    return [...this.#changes.values()].filter((entry) => entry.change !== 0);
  }
}

/** The effect of a batch's changes: `uniqueVisitors` increments by `day\0path`, and the entries left at 0. */
export interface EntryEffects {
  uniqueVisitors: Map<string, number>;
  zeros: EntryId[];
}

/** The key of an aggregate row, `day\0path`. */
export function rowKey(day: string, path: string): string {
  return `${day}\u0000${path}`;
}

function entryUpdate(batchId: string, entry: EntryChange): MongoDocument[] {
  const counted = (n: unknown) => ({ $cond: [{ $gt: [n, 0] }, 1, 0] });
  return [
    {
      $set: {
        // An entry written before counts existed (no `n`) stands for a visitor counted at least once.
        n: { $ifNull: ['$n', { $cond: [{ $eq: [{ $ifNull: ['$day', null] }, null] }, 0, 1] }] },
        log: { $ifNull: ['$log', []] },
      },
    },
    {
      $set: {
        day: { $ifNull: ['$day', literal(entry.id.day)] },
        expireAt: { $ifNull: ['$expireAt', literal(entry.expireAt)] },
        applied: { $in: [literal(batchId), '$log.b'] },
      },
    },
    { $set: { next: { $cond: ['$applied', '$n', { $add: ['$n', literal(entry.change)] }] } } },
    {
      $set: {
        log: {
          $cond: [
            '$applied',
            '$log',
            {
              $slice: [
                {
                  $concatArrays: [
                    '$log',
                    [{ b: literal(batchId), d: { $subtract: [counted('$next'), counted('$n')] } }],
                  ],
                },
                -MAX_LOG,
              ],
            },
          ],
        },
      },
    },
    { $set: { n: '$next' } },
    { $unset: ['applied', 'next'] },
  ];
}

/**
 * Apply batch `batchId`'s changes, each entry at most once whatever the number of attempts, and return their
 * effect. An entry this call inserted started at 0; the others are read back for the change recorded.
 */
export async function applyEntryChanges(
  collection: MongoCollectionLike,
  batchId: string,
  changes: EntryChange[],
): Promise<EntryEffects> {
  const effects: EntryEffects = { uniqueVisitors: new Map(), zeros: [] };
  if (changes.length === 0) return effects;
  const inserted = await upsertOnce(collection, changes, {
    op: (entry) => ({ filter: { _id: entry.id }, update: entryUpdate(batchId, entry), upsert: true }),
    id: (entry) => entry.id,
    done: null,
    what: `unique visitors of batch ${batchId}`,
  });
  const add = (id: EntryId, d: number) => {
    if (d === 0) return;
    const key = rowKey(id.day, id.path);
    effects.uniqueVisitors.set(key, (effects.uniqueVisitors.get(key) ?? 0) + d);
  };
  for (const entry of inserted) add(entry.id, entry.change > 0 ? 1 : 0);
  const others = changes.filter((entry) => !inserted.has(entry));
  if (others.length === 0) return effects;
  const docs = await collection
    .find({ _id: { $in: others.map((entry) => entry.id) } }, { projection: { n: 1, log: 1 } })
    .toArray();
  for (const doc of docs) {
    const id = doc._id as EntryId;
    const record = (doc.log as { b: string; d: number }[] | undefined)?.find((r) => r.b === batchId);
    // No record: the entry went with a purge of its day between the update and this read; nothing to count.
    if (record !== undefined) add(id, Number(record.d));
    if (Number(doc.n) === 0) effects.zeros.push(id);
  }
  return effects;
}

/** Once the batch is in the ledger: pull its records, and delete the entries it left at 0 with none left. */
export async function settleEntries(
  collection: MongoCollectionLike,
  batchId: string,
  changes: EntryChange[],
  zeros: EntryId[],
): Promise<void> {
  if (changes.length === 0) return;
  await collection.updateMany(
    { _id: { $in: changes.map((entry) => entry.id) } },
    { $pull: { log: { b: batchId } } },
  );
  if (zeros.length > 0) await collection.deleteMany({ _id: { $in: zeros }, n: 0, log: { $size: 0 } });
}
