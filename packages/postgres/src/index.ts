export type { PGliteLike, PoolConnection, PoolLike, PostgresClient, Queryable } from './client.js';
export type { MigrateResult } from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export {
  lockPGliteFolder,
  PGLITE_LOCK_FILE,
  type PGliteLock,
  type PGliteLockOptions,
} from './pglite-lock.js';
export type { StagingMode } from './stage.js';
export { type PostgresStore, type PostgresStoreOptions, postgresStore } from './store.js';
