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

function isPGlite(client: PostgresClient): client is PGliteLike {
  return typeof (client as Partial<PGliteLike>).transaction === 'function';
}

/**
 * Run `fn` in one transaction on one connection. Pool connections that failed mid-transaction are released
 * with the error so the pool discards them instead of reusing a connection in an unknown state.
 */
export async function inTransaction<T>(client: PostgresClient, fn: (q: Queryable) => Promise<T>): Promise<T> {
  if (isPGlite(client)) return client.transaction(fn);
  const conn = await client.connect();
  let broken: Error | undefined;
  try {
    await conn.query('BEGIN');
    const result = await fn(conn);
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
  const result = await q.query(text, params);
  return result.rows as R[];
}
