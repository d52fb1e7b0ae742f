// SIGNATURE STUB — the core-normalize helper implements these.
import type { Hasher } from './ports.js';

export const DAY_MS = 86_400_000;

/** The 24 h salt period of `now`. */
export declare function saltPeriod(now: number): number;

/** Visitor key: HMAC-SHA-256(salt, `site|ip|userAgent`), hex, truncated to 32 characters. */
export declare function visitorKey(hasher: Hasher, salt: string, site: string, ip: string, userAgent: string): Promise<string>;

/** Visitor key for a first-party id (opt-in cookie): stable across days, prefixed `fp_`. */
export declare function firstPartyVisitorKey(hasher: Hasher, site: string, id: string): Promise<string>;
