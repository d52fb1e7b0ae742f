import type {
  MongoBulkWriteResultLike,
  MongoCollectionLike,
  MongoCursorLike,
  MongoDbLike,
  MongoDocument,
  MongoIndexSpec,
  MongoWriteModel,
} from '@anon/mongo';
import { Aggregator, find as mingoFind, update as mingoUpdate, Query } from 'mingo';

/*
 * An EMULATED MongoDB database: the subset of the driver's `Db`/`Collection` API the adapter uses, in process,
 * with mingo (an independent implementation of MongoDB's query, update and aggregation languages) evaluating
 * every filter, update and pipeline. It is not a server. What it adds on top of mingo is what a server does
 * around those languages: unique `_id`s (E11000), upserts (`$setOnInsert`, update pipelines), unordered and
 * ordered bulk writes (`updateOne` and `updateMany` models) with MongoDB's error shape, BSON-like copies in and out, field-name rules, indexes and a
 * TTL monitor that can be run by hand.
 */

// Scripts ($where, $function, $accumulator) are refused, as a server with scripting disabled would.
const MINGO = { scriptEnabled: false } as const;

/** A duplicate `_id`, shaped as the driver's `MongoServerError` (code 11000). */
export class EmulatedDuplicateKeyError extends Error {
  override readonly name = 'MongoServerError';
  readonly code = 11000;
  constructor(collection: string, id: unknown) {
    super(`E11000 duplicate key error collection: ${collection} index: _id_ dup key: ${JSON.stringify(id)}`);
  }
}

/** A failed bulk write, shaped as the driver's `MongoBulkWriteError`. */
export class EmulatedBulkWriteError extends Error {
  override readonly name = 'MongoBulkWriteError';
  readonly code: number;
  constructor(
    readonly writeErrors: { index: number; code: number; errmsg: string }[],
    readonly result: MongoBulkWriteResultLike,
  ) {
    super(writeErrors[0]?.errmsg ?? 'bulk write failed');
    this.code = writeErrors[0]?.code ?? 0;
  }
}

/** Thrown for a document MongoDB would refuse to store (a field name starting with `$` or holding a `.`). */
export class EmulatedInvalidDocumentError extends Error {
  override readonly name = 'MongoServerError';
  readonly code = 52;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/** MongoDB compares `_id` documents field by field in order: so does this key. */
function idKey(id: unknown): string {
  return JSON.stringify(id, (_, v) => (v instanceof Date ? { $date: v.getTime() } : v));
}

function checkFieldNames(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkFieldNames(item, `${path}.${i}`);
    return;
  }
  if (typeof value !== 'object' || value === null || value instanceof Date || value instanceof RegExp) return;
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.')) {
      throw new EmulatedInvalidDocumentError(
        `field name ${JSON.stringify(key)} at ${path || 'top level'} is not storable`,
      );
    }
    checkFieldNames(item, path ? `${path}.${key}` : key);
  }
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).some((key) => key.startsWith('$'))
  );
}

/** The document an upsert starts from: the filter's top-level equalities. */
function seedFromFilter(filter: MongoDocument): MongoDocument {
  const seed: MongoDocument = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue;
    if (!isOperatorObject(value)) seed[key] = copy(value);
    else if ('$eq' in value && Object.keys(value).length === 1) seed[key] = copy(value.$eq);
  }
  return seed;
}

class ArrayCursor implements MongoCursorLike {
  constructor(private readonly produce: () => MongoDocument[]) {}
  async toArray(): Promise<MongoDocument[]> {
    return this.produce();
  }
}

/** One emulated collection. */
export class EmulatedCollection implements MongoCollectionLike {
  readonly #docs = new Map<string, MongoDocument>();
  readonly #indexes = new Map<string, MongoIndexSpec>();

  constructor(
    readonly name: string,
    private readonly db: EmulatedDb,
  ) {}

  /** Copies of every document, in insertion order (test probes read these). */
  snapshot(): MongoDocument[] {
    return [...this.#docs.values()].map(copy);
  }

  /** Copy every document and index of this collection into `target` (a test's starting state, reused). */
  copyInto(target: EmulatedCollection): void {
    for (const [key, doc] of this.#docs) target.#docs.set(key, copy(doc));
    for (const [name, spec] of this.#indexes) target.#indexes.set(name, copy(spec));
  }

  async insertOne(document: MongoDocument): Promise<{ acknowledged: true; insertedId: unknown }> {
    this.#insert(copy(document));
    return { acknowledged: true, insertedId: document._id };
  }

  async bulkWrite(
    operations: MongoWriteModel[],
    options: { ordered: boolean },
  ): Promise<MongoBulkWriteResultLike> {
    const result = {
      upsertedCount: 0,
      modifiedCount: 0,
      matchedCount: 0,
      upsertedIds: {} as Record<number, unknown>,
    };
    const writeErrors: { index: number; code: number; errmsg: string }[] = [];
    for (const [index, op] of operations.entries()) {
      try {
        if ('updateOne' in op) {
          const { filter, update, upsert } = op.updateOne;
          const outcome = this.#updateOne(filter, update, upsert === true);
          if (outcome.upsertedId !== undefined) {
            result.upsertedCount++;
            result.upsertedIds[index] = outcome.upsertedId;
          } else if (outcome.matched) {
            result.matchedCount++;
            if (outcome.modified) result.modifiedCount++;
          }
        } else if ('updateMany' in op) {
          // As a server runs an `updateMany` model: every matching document, each atomically (no upsert here).
          const { filter, update } = op.updateMany;
          const outcome = this.#updateMatching(filter, update);
          result.matchedCount += outcome.matched;
          result.modifiedCount += outcome.modified;
        } else {
          throw new Error(`emulated bulkWrite supports updateOne and updateMany, got ${Object.keys(op)}`);
        }
      } catch (error) {
        if (!(error instanceof EmulatedDuplicateKeyError)) throw error;
        writeErrors.push({ index, code: error.code, errmsg: error.message });
        if (options.ordered) break;
      }
    }
    if (writeErrors.length > 0) throw new EmulatedBulkWriteError(writeErrors, result);
    return result;
  }

  async updateMany(
    filter: MongoDocument,
    update: MongoDocument | MongoDocument[],
  ): Promise<{ modifiedCount: number }> {
    return { modifiedCount: this.#updateMatching(filter, update).modified };
  }

  find(
    filter: MongoDocument,
    options: { projection?: MongoDocument; sort?: MongoDocument } = {},
  ): MongoCursorLike {
    return new ArrayCursor(() => {
      let cursor = mingoFind([...this.#docs.values()], filter, options.projection, MINGO);
      if (options.sort !== undefined) cursor = cursor.sort(options.sort as Record<string, 1 | -1>);
      return copy(cursor.all() as MongoDocument[]);
    });
  }

  aggregate(pipeline: MongoDocument[]): MongoCursorLike {
    return new ArrayCursor(() => {
      const aggregator = new Aggregator(copy(pipeline), {
        ...MINGO,
        collectionResolver: (name: string) => this.db.collection(name).snapshot(),
      });
      return copy(aggregator.run(this.snapshot()) as MongoDocument[]);
    });
  }

  async deleteMany(filter: MongoDocument): Promise<{ deletedCount: number }> {
    const query = new Query(filter, MINGO);
    let deletedCount = 0;
    for (const [key, doc] of [...this.#docs]) {
      if (query.test(doc)) {
        this.#docs.delete(key);
        deletedCount++;
      }
    }
    return { deletedCount };
  }

  async createIndexes(indexSpecs: MongoIndexSpec[]): Promise<string[]> {
    for (const spec of indexSpecs) {
      const fields = Object.entries(spec.key ?? {});
      if (
        typeof spec.name !== 'string' ||
        fields.length === 0 ||
        fields.some(([, dir]) => dir !== 1 && dir !== -1)
      ) {
        throw new Error(`invalid index spec ${JSON.stringify(spec)}`);
      }
      if (spec.expireAfterSeconds !== undefined && (fields.length !== 1 || spec.expireAfterSeconds < 0)) {
        throw new Error(
          `a TTL index needs one field and a non-negative expireAfterSeconds: ${JSON.stringify(spec)}`,
        );
      }
      const existing = this.#indexes.get(spec.name);
      if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(spec)) {
        throw new Error(`index ${spec.name} already exists with different options`);
      }
      this.#indexes.set(spec.name, copy(spec));
    }
    return indexSpecs.map((spec) => spec.name);
  }

  listIndexes(): MongoCursorLike {
    return new ArrayCursor(() => [
      { v: 2, key: { _id: 1 }, name: '_id_' },
      ...[...this.#indexes.values()].map((spec) => ({ v: 2, ...copy(spec) })),
    ]);
  }

  /** What the server's TTL monitor does on one pass: delete documents whose TTL field date has passed. */
  expire(now: Date): number {
    let removed = 0;
    for (const spec of this.#indexes.values()) {
      if (spec.expireAfterSeconds === undefined) continue;
      const field = Object.keys(spec.key)[0]!;
      for (const [key, doc] of [...this.#docs]) {
        const at = doc[field];
        if (at instanceof Date && at.getTime() + spec.expireAfterSeconds * 1000 <= now.getTime()) {
          this.#docs.delete(key);
          removed++;
        }
      }
    }
    return removed;
  }

  #insert(doc: MongoDocument): void {
    if (!('_id' in doc)) throw new Error('emulated collections need an explicit _id');
    checkFieldNames(doc, '');
    const key = idKey(doc._id);
    if (this.#docs.has(key)) throw new EmulatedDuplicateKeyError(this.name, doc._id);
    this.#docs.set(key, doc);
  }

  #find(filter: MongoDocument): [string, MongoDocument] | undefined {
    // Fast path for the equality on `_id` that nearly every upsert carries.
    if ('_id' in filter && !isOperatorObject(filter._id)) {
      const key = idKey(filter._id);
      const doc = this.#docs.get(key);
      if (doc === undefined) return undefined;
      return new Query(filter, MINGO).test(doc) ? [key, doc] : undefined;
    }
    const query = new Query(filter, MINGO);
    for (const entry of this.#docs) if (query.test(entry[1])) return entry;
    return undefined;
  }

  #updateMatching(
    filter: MongoDocument,
    update: MongoDocument | MongoDocument[],
  ): { matched: number; modified: number } {
    const query = new Query(filter, MINGO);
    let matched = 0;
    let modified = 0;
    for (const [key, doc] of [...this.#docs]) {
      if (!query.test(doc)) continue;
      matched++;
      if (this.#apply(key, doc, update, false)) modified++;
    }
    return { matched, modified };
  }

  #updateOne(
    filter: MongoDocument,
    update: MongoDocument | MongoDocument[],
    upsert: boolean,
  ): { matched: boolean; modified: boolean; upsertedId?: unknown } {
    const found = this.#find(filter);
    if (found !== undefined)
      return { matched: true, modified: this.#apply(found[0], found[1], update, false) };
    if (!upsert) return { matched: false, modified: false };
    const seed = seedFromFilter(filter);
    const doc = this.#transform(seed, update, true);
    this.#insert(doc);
    return { matched: false, modified: false, upsertedId: doc._id };
  }

  /** Apply an update to a stored document; true when it changed. */
  #apply(
    key: string,
    doc: MongoDocument,
    update: MongoDocument | MongoDocument[],
    inserting: boolean,
  ): boolean {
    const before = idKey(doc);
    const next = this.#transform(copy(doc), update, inserting);
    if (idKey(next._id) !== key) throw new Error('an update may not change _id');
    checkFieldNames(next, '');
    if (idKey(next) === before) return false;
    this.#docs.set(key, next);
    return true;
  }

  #transform(doc: MongoDocument, update: MongoDocument | MongoDocument[], inserting: boolean): MongoDocument {
    if (Array.isArray(update)) {
      const [out] = new Aggregator(copy(update), MINGO).run([doc]) as MongoDocument[];
      return out!;
    }
    const { $setOnInsert, ...rest } = update as { $setOnInsert?: MongoDocument } & MongoDocument;
    for (const key of Object.keys(rest)) {
      if (!key.startsWith('$')) throw new Error(`an update document needs operators only, got ${key}`);
    }
    const modifier: MongoDocument = copy(rest);
    if (inserting && $setOnInsert !== undefined) {
      modifier.$set = { ...(modifier.$set as MongoDocument | undefined), ...copy($setOnInsert) };
    }
    if (Object.keys(modifier).length > 0) mingoUpdate(doc, modifier as Parameters<typeof mingoUpdate>[1]);
    return doc;
  }
}

/** An emulated database: collections created on first use, as MongoDB does. */
export class EmulatedDb implements MongoDbLike {
  readonly #collections = new Map<string, EmulatedCollection>();

  collection(name: string): EmulatedCollection {
    if (name.includes('$') || name === '') throw new Error(`invalid collection name ${JSON.stringify(name)}`);
    let collection = this.#collections.get(name);
    if (collection === undefined) {
      collection = new EmulatedCollection(name, this);
      this.#collections.set(name, collection);
    }
    return collection;
  }

  /** An independent copy of the whole database. */
  clone(): EmulatedDb {
    const db = new EmulatedDb();
    for (const [name, collection] of this.#collections) collection.copyInto(db.collection(name));
    return db;
  }

  /** Names of the collections holding at least one document. */
  collectionNames(): string[] {
    return [...this.#collections].filter(([, c]) => c.snapshot().length > 0).map(([name]) => name);
  }

  /** One pass of the TTL monitor over every collection; returns the documents removed. */
  expire(now: Date): number {
    let removed = 0;
    for (const collection of this.#collections.values()) removed += collection.expire(now);
    return removed;
  }
}
