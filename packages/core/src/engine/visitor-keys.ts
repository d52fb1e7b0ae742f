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
 * Hashed keys by (salt, site, IP, user agent), bounded; kept in this process only, never stored. Emptied when
 * the salt period changes, so no key of a destroyed salt stays in memory.
 */
export interface KeyCache {
  lru: Lru<string, string>;
  period: number;
}

/** Entries of the visitor-key cache: a few MB at most with 500-character user agents. */
export const KEY_CACHE_SIZE = 10_000;

export function createKeyCache(size = KEY_CACHE_SIZE): KeyCache {
  return { lru: new Lru(size), period: -1 };
}

/** The identity of a request as `normalize` leaves it: what a visitor key is made of. */
export interface Identity {
  rawIp: string;
  userAgent: string;
}

/** What to hash for one key, and where to keep the result. */
interface KeyJob {
  cacheId: string;
  key: string;
  message: string;
  prefix: string;
}

/** The first-party key's id (HMAC keyed by the site), or null when the app gives no id for this request. */
function firstPartyJob(deps: VisitorKeyDeps, req: RequestInfo): KeyJob | null {
  if (deps.visitorId === undefined) return null;
  const id = deps.visitorId(req);
  if (typeof id !== 'string' || id === '') return null;
  const value = id.slice(0, LIMITS.userId);
  // `fp_` keeps the two kinds of key from ever colliding; the id itself never reaches a store.
  return { cacheId: `fp\u0000${value}`, key: deps.site, message: value, prefix: 'fp_' };
}

function saltJob(deps: VisitorKeyDeps, salt: string, identity: Identity): KeyJob {
  return {
    cacheId: `${salt}\u0000${identity.rawIp}\u0000${identity.userAgent}`,
    key: salt,
    message: visitorKeyMessage(deps.site, identity.rawIp, identity.userAgent),
    prefix: '',
  };
}

function cached(deps: VisitorKeyDeps, job: KeyJob): string | undefined {
  return deps.cache.lru.get(job.cacheId);
}

function remember(deps: VisitorKeyDeps, job: KeyJob, mac: string): string {
  const key = `${job.prefix}${mac.slice(0, KEY_HEX)}`;
  deps.cache.lru.set(job.cacheId, key);
  return key;
}

/** A key now, from the cache or a synchronous HMAC; undefined when only the asynchronous HMAC can make it. */
function keyNow(deps: VisitorKeyDeps, job: KeyJob): string | undefined {
  const hit = cached(deps, job);
  if (hit !== undefined) return hit;
  const sync = deps.hasher.hmacSync;
  return sync === undefined ? undefined : remember(deps, job, sync.call(deps.hasher, job.key, job.message));
}

async function keyLater(deps: VisitorKeyDeps, job: KeyJob): Promise<string> {
  const hit = cached(deps, job);
  if (hit !== undefined) return hit;
  return remember(deps, job, await deps.hasher.hmac(job.key, job.message));
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

/** Drops every cached key when the salt period moves on: keys of a destroyed salt must not outlive it. */
function follow(deps: VisitorKeyDeps, salts: SaltPair): void {
  if (deps.cache.period !== salts.period) {
    deps.cache.lru.clear();
    deps.cache.period = salts.period;
  }
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
  const firstParty = firstPartyJob(deps, req);
  if (firstParty !== null) {
    const current = keyNow(deps, firstParty);
    return current === undefined ? null : { current, previous: null, continuation: null };
  }
  follow(deps, salts);
  const current = keyNow(deps, saltJob(deps, salts.current, identity));
  if (current === undefined) return null;
  if (salts.previous === null) return keysFrom(deps, salts, now, current, null);
  const previous = keyNow(deps, saltJob(deps, salts.previous, identity));
  return previous === undefined ? null : keysFrom(deps, salts, now, current, previous);
}

/** The keys of the visitor behind a request: first-party when the app gives an id, else hashed. */
export async function visitorKeysOf(
  deps: VisitorKeyDeps,
  req: RequestInfo,
  identity: Identity,
  now: Millis,
): Promise<VisitorKeys> {
  const firstParty = firstPartyJob(deps, req);
  if (firstParty !== null) {
    return { current: await keyLater(deps, firstParty), previous: null, continuation: null };
  }
  const salts = deps.salts.peek(now) ?? (await deps.salts.get(now));
  follow(deps, salts);
  const current = await keyLater(deps, saltJob(deps, salts.current, identity));
  const previous =
    salts.previous === null ? null : await keyLater(deps, saltJob(deps, salts.previous, identity));
  return keysFrom(deps, salts, now, current, previous);
}
