import type { PGliteLike, Queryable } from '@anon/postgres';

/** What the CLI uses of a PGlite instance. */
export interface PGliteInstance extends PGliteLike {
  readonly closed: boolean;
  close(): Promise<void>;
}

/** A PGlite client that has not opened its folder yet. */
export interface DeferredPGlite extends PGliteInstance {
  /** The folder, as PGlite takes it (undefined: in memory). */
  readonly dataDir: string | undefined;
  /** Whether PGlite was started (the folder opened). */
  readonly opened: boolean;
}

/**
 * PGlite opens its folder as soon as it is constructed, and a folder open in two processes is corrupted. This client
 * starts PGlite at its first statement instead, and `postgresStore` takes the folder's lock before its first
 * statement: a folder another process has open is refused before this process touches it.
 */
export function deferredPGlite(
  dataDir: string | undefined,
  start: (dataDir: string | undefined) => PGliteInstance,
): DeferredPGlite {
  let db: PGliteInstance | null = null;
  const open = () => {
    db ??= start(dataDir);
    return db;
  };
  return {
    dataDir,
    get opened() {
      return db !== null;
    },
    get closed() {
      return db?.closed ?? false;
    },
    query: (text: string, params?: unknown[]) => open().query(text, params),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => open().transaction(fn),
    close: async () => {
      await db?.close();
    },
  };
}
