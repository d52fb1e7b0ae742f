import { saltPeriod } from '../identity.js';
import type { HotStore, SaltPair } from '../ports.js';
import type { Millis } from '../types.js';

/** The shared salt pair, read from the hot store once per 24 h period (and once at a time). */
export interface SaltCache {
  get(now: Millis): Promise<SaltPair>;
}

/**
 * Caches `hot.salt(now)` until its period ends, so a page view costs no salt round trip. Concurrent callers
 * share one request; a failed request is not cached.
 */
export function createSaltCache(hot: HotStore): SaltCache {
  let cached: SaltPair | null = null;
  let pending: { period: number; promise: Promise<SaltPair> } | null = null;
  return {
    get(now) {
      const period = saltPeriod(now);
      if (cached !== null && cached.period === period) return Promise.resolve(cached);
      if (pending !== null && pending.period === period) return pending.promise;
      const promise = hot.salt(now).then(
        (pair) => {
          if (pending?.promise === promise) pending = null;
          if (pair.period === period) cached = pair;
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
