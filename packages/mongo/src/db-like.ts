/** A BSON document as the adapter builds and reads it. */
export type MongoDocument = Record<string, unknown>;

/** One `updateOne` of a `bulkWrite`: an upsert, or a plain update of one document. */
export interface MongoUpdateOneModel {
  updateOne: {
    filter: MongoDocument;
    /** An update document (`$inc`, `$setOnInsert`, …) or an update pipeline. */
    update: MongoDocument | MongoDocument[];
    upsert?: boolean;
  };
}

/** One `updateMany` of a `bulkWrite` (the adapter never upserts with it). */
export interface MongoUpdateManyModel {
  updateMany: {
    filter: MongoDocument;
    /** An update document or an update pipeline. */
    update: MongoDocument | MongoDocument[];
  };
}

/** The operations the adapter sends in a `bulkWrite`: updates only (inserts are upserts). */
export type MongoWriteModel = MongoUpdateOneModel | MongoUpdateManyModel;

/** The fields of a `BulkWriteResult` the adapter reads. */
export interface MongoBulkWriteResultLike {
  upsertedCount: number;
  modifiedCount: number;
  /** Index of the operation → `_id` of the document it inserted. */
  upsertedIds: { [index: number]: unknown };
}

/** A cursor the adapter only ever drains. */
export interface MongoCursorLike {
  toArray(): Promise<MongoDocument[]>;
}

/** An index as `createIndexes` takes it. */
export interface MongoIndexSpec {
  key: Record<string, 1 | -1>;
  name: string;
  expireAfterSeconds?: number;
  /** Index only the documents that have the field (the purge marker, absent from nearly every document). */
  sparse?: boolean;
}

/**
 * The subset of the driver's `Collection` the adapter uses. A `Collection` from the official `mongodb`
 * driver (6.x, 7.x) satisfies it; so does the emulated collection of this package's tests.
 */
export interface MongoCollectionLike {
  bulkWrite(operations: MongoWriteModel[], options: { ordered: boolean }): Promise<MongoBulkWriteResultLike>;
  insertOne(document: MongoDocument): Promise<unknown>;
  updateMany(
    filter: MongoDocument,
    update: MongoDocument | MongoDocument[],
  ): Promise<{ modifiedCount: number }>;
  find(
    filter: MongoDocument,
    options?: { projection?: MongoDocument; sort?: MongoDocument },
  ): MongoCursorLike;
  aggregate(pipeline: MongoDocument[]): MongoCursorLike;
  deleteMany(filter: MongoDocument): Promise<{ deletedCount: number }>;
  createIndexes(indexSpecs: MongoIndexSpec[]): Promise<string[]>;
  listIndexes(): MongoCursorLike;
}

/** What `mongoStore` needs of a database: a driver `Db` (`client.db(name)`) fits. */
export interface MongoDbLike {
  collection(name: string): MongoCollectionLike;
}
