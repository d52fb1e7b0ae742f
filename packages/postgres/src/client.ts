/**
 * What the store needs from a driver, described structurally so neither `pg` nor `@electric-sql/pglite` is
 * imported at runtime: a node-postgres `Pool` and a `PGlite` instance both fit as they are.
 */

/** Anything that runs one parameterized statement. */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A connection checked out of a pool (node-postgres `PoolClient`). */
export interface PoolConnection extends Queryable {
  release(err?: Error | boolean): void;
}

/** A node-postgres `Pool` (or anything that hands out connections the same way). */
export interface PoolLike extends Queryable {
  connect(): Promise<PoolConnection>;
}

/** A PGlite instance: one embedded connection with its own transaction helper. */
export interface PGliteLike extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** The client `postgresStore` accepts: a node-postgres `Pool` or a `PGlite` instance. */
export type PostgresClient = PoolLike | PGliteLike;

export function isPGlite(client: PostgresClient | Queryable): client is PGliteLike {
  return typeof (client as Partial<PGliteLike>).transaction === 'function';
}

/**
 * The folder of a PGlite instance on the local file system (a path, or `file://` + path), or null for one in
 * memory or in a browser store (`memory://`, `idb://`, `opfs-ahp://`).
 */
function localFolder(client: PGliteLike): string | null {
  const dir = (client as { dataDir?: unknown }).dataDir;
  if (typeof dir !== 'string' || dir === '') return null;
  if (dir.startsWith('file://')) return dir.slice('file://'.length);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dir) ? null : dir;
}

/** Each PGlite instance's folder lock, once taken (null: nothing to lock). */
const folderLocks = new WeakMap<object, Promise<void> | null>();

/**
 * Before the first statement on a PGlite instance with a folder, take the folder's lock (`pglite-lock.ts`):
 * a folder open in two processes is corrupted. The lock is released when the instance closes. A refusal is
 * not remembered: the next call tries again, and succeeds once the other process has stopped.
 */
function folderLock(client: PostgresClient | Queryable): Promise<void> | null {
  if (!isPGlite(client)) return null;
  let pending = folderLocks.get(client);
  if (pending === undefined) {
    const folder = localFolder(client);
    pending = folder === null ? null : lockFolder(client, folder);
    folderLocks.set(client, pending);
    pending?.catch(() => folderLocks.delete(client));
  }
  return pending;
}

async function lockFolder(client: PGliteLike, folder: string): Promise<void> {
  const { lockPGliteFolder } = await import('./pglite-lock.js');
  const instance = client as PGliteLike & {
    readonly closed?: boolean;
    close?: (...args: unknown[]) => unknown;
  };
  const lock = await lockPGliteFolder(folder, { holder: instance });
  const close = instance.close;
  if (typeof close !== 'function') return;
  // PGlite has no close event: the instance's own close() releases the lock once the folder is closed.
  instance.close = async function closeAndUnlock(this: unknown, ...args: unknown[]) {
    try {
      return await close.apply(this, args);
    } finally {
      lock.release();
    }
  };
}

/**
 * Run `fn` in one transaction on one connection; `connection` is what owns the connection's session state (its
 * temporary tables): the pool's client, or the PGlite instance. Pool connections that failed mid-transaction
 * are released with the error so the pool discards them instead of reusing a connection in an unknown state.
 */
export async function inTransaction<T>(
  client: PostgresClient,
  fn: (q: Queryable, connection: object) => Promise<T>,
): Promise<T> {
  if (isPGlite(client)) {
    await folderLock(client);
    return client.transaction((tx) => fn(tx, client));
  }
  const conn = await client.connect();
  let broken: Error | undefined;
  try {
    await conn.query('BEGIN');
    const result = await fn(conn, conn);
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await conn.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    }
    throw err;
  } finally {
    conn.release(broken ?? false);
  }
}

/** Rows of a query, typed by the caller (the SQL's column aliases are the contract). */
export async function rowsOf<R>(q: Queryable, text: string, params: unknown[] = []): Promise<R[]> {
  const locking = folderLock(q);
  if (locking !== null) await locking;
  const result = await q.query(text, params);
  return result.rows as R[];
}
