export { COLLECTION_SUFFIXES, type CollectionKey } from './collections.js';
export type {
  MongoBulkWriteResultLike,
  MongoCollectionLike,
  MongoCursorLike,
  MongoDbLike,
  MongoDocument,
  MongoIndexSpec,
  MongoUpdateManyModel,
  MongoUpdateOneModel,
  MongoWriteModel,
} from './db-like.js';
export { INDEXES } from './indexes.js';
export { type MongoStore, type MongoStoreOptions, mongoStore, TTL_GRACE_DAYS } from './store.js';
