import type { MongoCollectionLike, MongoDbLike } from '@anon/mongo';
import type { EmulatedDb } from './emulated-db.js';

const WRITES = new Set(['bulkWrite', 'insertOne', 'updateMany', 'deleteMany']);

/** Where a simulated crash strikes: before the write reaches the database, or after it was applied. */
export type CrashMode = 'before' | 'after';

/**
 * A view of an emulated database whose `crashAt`-th write (counted from 1 across all collections) fails as if the
 * worker died there: `before` the write is applied, or `after` it was applied but before the answer arrived.
 * With `dies`, every later write fails too (the process is gone: it cannot clean up after itself).
 */
export function faultyDb(
  db: EmulatedDb,
  crashAt: number,
  mode: CrashMode,
  dies = false,
): MongoDbLike & { writes(): number } {
  let writes = 0;
  return {
    writes: () => writes,
    collection(name: string): MongoCollectionLike {
      const target = db.collection(name);
      return new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== 'function') return value;
          if (!WRITES.has(String(property))) return value.bind(object);
          return async (...args: unknown[]) => {
            // Writes run concurrently: each remembers its own ordinal.
            const ordinal = ++writes;
            if (dies && ordinal > crashAt) throw new Error('simulated write of a dead process');
            if (ordinal === crashAt && mode === 'before') throw new Error('simulated crash before a write');
            const result = await value.apply(object, args);
            if (ordinal === crashAt) throw new Error('simulated crash after a write');
            return result;
          };
        },
      });
    },
  };
}
