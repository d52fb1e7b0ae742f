export type { PGliteLike, PoolConnection, PoolLike, PostgresClient, Queryable } from './client.js';
export type { MigrateResult } from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export { type PostgresStore, type PostgresStoreOptions, postgresStore } from './store.js';
