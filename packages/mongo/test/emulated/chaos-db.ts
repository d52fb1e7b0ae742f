import type { MongoCollectionLike, MongoCursorLike, MongoDbLike } from '@anon/mongo';
import type { EmulatedDb } from './emulated-db.js';
import type { CrashMode } from './faulty-db.js';

const WRITES = new Set(['bulkWrite', 'insertOne', 'updateMany', 'deleteMany']);
const READS = new Set(['find', 'aggregate']);

/** One call a worker makes: the collection (without the prefix), the method and, for a write, its ordinal. */
export interface Call {
  collection: string;
  method: string;
  /** 1-based count of this worker's writes, this one included; 0 for a read. */
  write: number;
  /** The call's arguments (a bulk write's operations first). */
  args: readonly unknown[];
}

/** What happens around each call of a {@link chaosDb} worker. */
export interface Chaos {
  /** Awaited before the call reaches the database (a gate, or a few turns of the event loop). */
  before?(call: Call): Promise<void> | void;
  /** Awaited after the database has answered, before the worker sees the answer (latency on the way back). */
  after?(call: Call): Promise<void> | void;
  /** A write that crashes: before it reaches the database, or after it was applied. */
  crash?(call: Call): CrashMode | null;
}

/**
 * A worker's view of an emulated database on which each call can be held back (so that the calls of workers
 * running at once interleave in any order) or crash (as the worker dying there). The emulation applies one
 * command atomically; a server applies each document of it atomically, a finer interleaving than this one.
 */
export function chaosDb(db: EmulatedDb, prefix: string, chaos: Chaos): MongoDbLike & { writes(): number } {
  let writes = 0;
  return {
    writes: () => writes,
    collection(name: string): MongoCollectionLike {
      const target = db.collection(name);
      const collection = name.startsWith(prefix) ? name.slice(prefix.length) : name;
      return new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== 'function') return value;
          const method = String(property);
          if (READS.has(method)) {
            return (...args: unknown[]): MongoCursorLike => {
              const cursor = value.apply(object, args) as MongoCursorLike;
              return {
                toArray: async () => {
                  const call = { collection, method, write: 0, args };
                  await chaos.before?.(call);
                  const docs = await cursor.toArray();
                  await chaos.after?.(call);
                  return docs;
                },
              };
            };
          }
          if (!WRITES.has(method)) return value.bind(object);
          return async (...args: unknown[]) => {
            const call = { collection, method, write: ++writes, args };
            await chaos.before?.(call);
            const crash = chaos.crash?.(call) ?? null;
            if (crash === 'before') throw new Error(`simulated crash before ${collection}.${method}`);
            const result = await value.apply(object, args);
            if (crash === 'after') throw new Error(`simulated crash after ${collection}.${method}`);
            await chaos.after?.(call);
            return result;
          };
        },
      });
    },
  };
}

/**
 * A hook letting the event loop turn a few times, as `random` decides: mostly 0 to 3 turns, and with
 * probability `stall` a long stall (20 to 150 turns), as a slow network or a paused process would.
 */
export function jitter(random: () => number, stall = 0.1): () => Promise<void> {
  return async () => {
    const turns = random() < stall ? 20 + Math.floor(random() * 131) : Math.floor(random() * 4);
    for (let n = turns; n > 0; n--) await new Promise<void>((resolve) => setImmediate(resolve));
  };
}
