import { LIMITS } from '../config.js';
import { DAY_MS, firstPartyVisitorKey, visitorKey } from '../identity.js';
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
  const current = await visitorKey(deps.hasher, salts.current, deps.site, identity.rawIp, identity.userAgent);
  if (salts.previous === null) return { current, previous: null, continuation: null };
  const previous = await visitorKey(
    deps.hasher,
    salts.previous,
    deps.site,
    identity.rawIp,
    identity.userAgent,
  );
  const justRotated = now - salts.period * DAY_MS < deps.sessionTimeoutMs;
  return { current, previous, continuation: justRotated ? previous : null };
}
