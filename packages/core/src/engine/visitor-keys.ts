import { LIMITS } from '../config.js';
import { DAY_MS, KEY_HEX, visitorKeyMessage } from '../identity.js';
import { Lru } from '../normalize/lru.js';
import type { Hasher, SaltPair } from '../ports.js';
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

/**
 * Hashed keys, bounded, kept in this process only and never stored: per salt, by (IP, user agent); and
 * first-party keys by id. A salt's keys are dropped as soon as that salt leaves the pair (48 h after its
 * period began), so no key of a destroyed salt stays in memory.
 */
export interface KeyCache {
  bySalt: Map<string, Lru<string, string>>;
  firstParty: Lru<string, string>;
  size: number;
  period: number;
}

/** Entries of the visitor-key cache, per salt: a few MB at most with 500-character user agents. */
export const KEY_CACHE_SIZE = 10_000;

export function createKeyCache(size = KEY_CACHE_SIZE): KeyCache {
  return { bySalt: new Map(), firstParty: new Lru(size), size, period: -1 };
}

/** The identity of a request as `normalize` leaves it: what a visitor key is made of. */
export interface Identity {
  rawIp: string;
  userAgent: string;
}

/** The first-party id the app gives for this request, or null. */
function firstPartyId(deps: VisitorKeyDeps, req: RequestInfo): string | null {
  if (deps.visitorId === undefined) return null;
  const id = deps.visitorId(req);
  return typeof id === 'string' && id !== '' ? id.slice(0, LIMITS.userId) : null;
}

/** `fp_` keeps first-party keys from ever colliding with hashed ones; the id itself never reaches a store. */
function firstPartyKey(mac: string): string {
  return `fp_${mac.slice(0, KEY_HEX)}`;
}

function saltCache(deps: VisitorKeyDeps, salt: string): Lru<string, string> {
  let lru = deps.cache.bySalt.get(salt);
  if (lru === undefined) {
    lru = new Lru(deps.cache.size);
    deps.cache.bySalt.set(salt, lru);
  }
  return lru;
}

/** Forgets the keys of salts that left the pair, and the hasher's state for them, once per period. */
function follow(deps: VisitorKeyDeps, salts: SaltPair): void {
  if (deps.cache.period === salts.period) return;
  for (const salt of deps.cache.bySalt.keys()) {
    if (salt === salts.current || salt === salts.previous) continue;
    deps.cache.bySalt.delete(salt);
    try {
      deps.hasher.forget?.(salt);
    } catch {
      // An injected hasher that cannot forget keeps its own state; the keys above are gone all the same.
    }
  }
  deps.cache.period = salts.period;
}

const identityId = (identity: Identity): string => `${identity.rawIp}\u0000${identity.userAgent}`;

/** A salted key now, from the cache or a synchronous HMAC; undefined when only the asynchronous HMAC can. */
function saltedNow(deps: VisitorKeyDeps, salt: string, id: string, identity: Identity): string | undefined {
  const lru = saltCache(deps, salt);
  const hit = lru.get(id);
  if (hit !== undefined) return hit;
  const sync = deps.hasher.hmacSync;
  if (sync === undefined) return undefined;
  const key = sync.call(deps.hasher, salt, visitorKeyMessage(deps.site, identity.rawIp, identity.userAgent));
  const short = key.slice(0, KEY_HEX);
  lru.set(id, short);
  return short;
}

async function saltedLater(
  deps: VisitorKeyDeps,
  salt: string,
  id: string,
  identity: Identity,
): Promise<string> {
  const lru = saltCache(deps, salt);
  const hit = lru.get(id);
  if (hit !== undefined) return hit;
  const mac = await deps.hasher.hmac(salt, visitorKeyMessage(deps.site, identity.rawIp, identity.userAgent));
  const short = mac.slice(0, KEY_HEX);
  lru.set(id, short);
  return short;
}

function keysFrom(
  deps: VisitorKeyDeps,
  salts: SaltPair,
  now: Millis,
  current: string,
  previous: string | null,
): VisitorKeys {
  if (previous === null) return { current, previous: null, continuation: null };
  const justRotated = now - salts.period * DAY_MS < deps.sessionTimeoutMs;
  return { current, previous, continuation: justRotated ? previous : null };
}

/**
 * The visitor's keys without waiting, for the batch loop: from the cache or a synchronous HMAC. Returns null
 * when a key needs the asynchronous HMAC (a hasher without `hmacSync`); the caller then awaits
 * `visitorKeysOf`.
 */
export function visitorKeysNow(
  deps: VisitorKeyDeps,
  req: RequestInfo,
  identity: Identity,
  salts: SaltPair,
  now: Millis,
): VisitorKeys | null {
  const fp = firstPartyId(deps, req);
  if (fp !== null) {
    let current = deps.cache.firstParty.get(fp);
    if (current === undefined) {
      const sync = deps.hasher.hmacSync;
      if (sync === undefined) return null;
      current = firstPartyKey(sync.call(deps.hasher, deps.site, fp));
      deps.cache.firstParty.set(fp, current);
    }
    return { current, previous: null, continuation: null };
  }
  follow(deps, salts);
  const id = identityId(identity);
  const current = saltedNow(deps, salts.current, id, identity);
  if (current === undefined) return null;
  if (salts.previous === null) return keysFrom(deps, salts, now, current, null);
  const previous = saltedNow(deps, salts.previous, id, identity);
  return previous === undefined ? null : keysFrom(deps, salts, now, current, previous);
}

/** The keys of the visitor behind a request: first-party when the app gives an id, else hashed. */
export async function visitorKeysOf(
  deps: VisitorKeyDeps,
  req: RequestInfo,
  identity: Identity,
  now: Millis,
): Promise<VisitorKeys> {
  const fp = firstPartyId(deps, req);
  if (fp !== null) {
    let current = deps.cache.firstParty.get(fp);
    if (current === undefined) {
      current = firstPartyKey(await deps.hasher.hmac(deps.site, fp));
      deps.cache.firstParty.set(fp, current);
    }
    return { current, previous: null, continuation: null };
  }
  const salts = deps.salts.peek(now) ?? (await deps.salts.get(now));
  follow(deps, salts);
  const id = identityId(identity);
  const current = await saltedLater(deps, salts.current, id, identity);
  const previous = salts.previous === null ? null : await saltedLater(deps, salts.previous, id, identity);
  return keysFrom(deps, salts, now, current, previous);
}
