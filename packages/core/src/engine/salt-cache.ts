import { saltPeriod } from '../identity.js';
import type { HotStore, SaltPair } from '../ports.js';
import type { Millis } from '../types.js';

/** The shared salt pair, read from the hot store once per period and re-read every `SALT_REREAD_MS`. */
export interface SaltCache {
  /** The pair for `now`, if it is cached and fresh: no waiting, for the batch loop. */
  peek(now: Millis): SaltPair | null;
  get(now: Millis): Promise<SaltPair>;
}

/**
 * How long a cached salt is trusted before it is read again. Instances must agree on the salt or one visitor
 * gets one key per instance: if the hot store lost it (an empty restart, an eviction), the first instance to
 * ask creates a new one, and every other instance picks that one up within this time.
 */
export const SALT_REREAD_MS = 60_000;

/**
 * Caches `hot.salt(now)` for its period, re-read every `SALT_REREAD_MS`, so a page view costs no salt round
 * trip. Concurrent callers share one request; a failed request is not cached. `onReset` is told when a re-read
 * finds another salt for the same period: the hot store lost its state.
 */
export function createSaltCache(
  hot: HotStore,
  rereadMs = SALT_REREAD_MS,
  onReset: (period: number) => void = () => {},
): SaltCache {
  let cached: { pair: SaltPair; readAt: Millis } | null = null;
  let pending: { period: number; promise: Promise<SaltPair> } | null = null;
  const fresh = (now: Millis): SaltPair | null =>
    cached !== null && cached.pair.period === saltPeriod(now) && now - cached.readAt < rereadMs
      ? cached.pair
      : null;
  return {
    peek: fresh,
    get(now) {
      const hit = fresh(now);
      if (hit !== null) return Promise.resolve(hit);
      const period = saltPeriod(now);
      if (pending !== null && pending.period === period) return pending.promise;
      const promise = hot.salt(now).then(
        (pair) => {
          if (pending?.promise === promise) pending = null;
          if (pair.period === period) {
            const before = cached?.pair;
            if (before !== undefined && before.period === pair.period && before.current !== pair.current) {
              // The same period with another salt: the hot store lost the one it gave before.
              onReset(pair.period);
            }
            cached = { pair, readAt: now };
          }
          return pair;
        },
        (error: unknown) => {
          if (pending?.promise === promise) pending = null;
          throw error;
        },
      );
      pending = { period, promise };
      return promise;
    },
  };
}
