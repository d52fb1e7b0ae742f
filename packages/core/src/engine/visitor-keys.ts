import { LIMITS } from '../config.js';
import { DAY_MS, firstPartyVisitorKey, visitorKey } from '../identity.js';
import { Lru } from '../normalize/lru.js';
import type { Hasher } from '../ports.js';
import type { Millis, RequestInfo } from '../types.js';
import type { SaltCache } from './salt-cache.js';

/** One visitor's keys at one moment. */
export interface VisitorKeys {
  /** The key under today's salt (or the first-party key). */
  current: string;
  /** The key under yesterday's salt, while that salt exists; null for first-party keys. */
  previous: string | null;
  /**
   * `previous`, but only while a session begun before the rotation can still be live (the first
   * `sessionTimeoutMs` of the period): what `recordPageView` gets as `previousVisitorKey`.
   */
  continuation: string | null;
}

export interface VisitorKeyDeps {
  hasher: Hasher;
  salts: SaltCache;
  site: string;
  sessionTimeoutMs: number;
  visitorId: ((req: RequestInfo) => string | null | undefined) | undefined;
  /** Keys already hashed, from `createKeyCache`: a returning visitor costs no HMAC. */
  cache: KeyCache;
}

/** Hashed keys by (salt, site, IP, user agent), bounded; kept in this process only, never stored. */
export type KeyCache = Lru<string, Promise<string>>;

/** Entries of the visitor-key cache: a few MB at most with 500-character user agents. */
export const KEY_CACHE_SIZE = 10_000;

export function createKeyCache(size = KEY_CACHE_SIZE): KeyCache {
  return new Lru(size);
}

/**
 * HMAC is the costliest step of a page view (Web Crypto is asynchronous); a visitor's next views reuse the key.
 * The salt is part of the cache key, so a rotation misses by construction. A failed hash is not kept.
 */
function cachedKey(deps: VisitorKeyDeps, salt: string, ip: string, userAgent: string): Promise<string> {
  const id = `${salt}\u0000${ip}\u0000${userAgent}`;
  const hit = deps.cache.get(id);
  if (hit !== undefined) return hit;
  const promise = visitorKey(deps.hasher, salt, deps.site, ip, userAgent);
  deps.cache.set(id, promise);
  promise.catch(() => deps.cache.delete(id));
  return promise;
}

/** The keys of the visitor behind a request: first-party when the app gives an id, else hashed. */
export async function visitorKeysOf(
  deps: VisitorKeyDeps,
  req: RequestInfo,
  identity: { rawIp: string; userAgent: string },
  now: Millis,
): Promise<VisitorKeys> {
  const firstParty = deps.visitorId?.(req);
  if (typeof firstParty === 'string' && firstParty !== '') {
    const current = await firstPartyVisitorKey(deps.hasher, deps.site, firstParty.slice(0, LIMITS.userId));
    return { current, previous: null, continuation: null };
  }
  const salts = await deps.salts.get(now);
  const current = await cachedKey(deps, salts.current, identity.rawIp, identity.userAgent);
  if (salts.previous === null) return { current, previous: null, continuation: null };
  const previous = await cachedKey(deps, salts.previous, identity.rawIp, identity.userAgent);
  const justRotated = now - salts.period * DAY_MS < deps.sessionTimeoutMs;
  return { current, previous, continuation: justRotated ? previous : null };
}
