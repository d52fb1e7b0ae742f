import type { Hasher } from './ports.js';

export const DAY_MS = 86_400_000;

/** Hex characters kept from the HMAC: 128 bits, ample against collisions between visitors of one day. */
export const KEY_HEX = 32;

/** The 24 h salt period of `now` (`floor(now / DAY_MS)`): the salt rotates when this changes. */
export function saltPeriod(now: number): number {
  return Math.floor(now / DAY_MS);
}

/** What a visitor key's HMAC signs: `site|ip|userAgent`. */
export function visitorKeyMessage(site: string, ip: string, userAgent: string): string {
  return `${site}|${ip}|${userAgent}`;
}

/**
 * Visitor key: HMAC-SHA-256(salt, `site|ip|userAgent`), hex, truncated to 32 characters. Keyed by the daily
 * salt, so once the salt is destroyed the key cannot be recomputed or linked to another day's.
 */
export async function visitorKey(
  hasher: Hasher,
  salt: string,
  site: string,
  ip: string,
  userAgent: string,
): Promise<string> {
  const mac = await hasher.hmac(salt, visitorKeyMessage(site, ip, userAgent));
  return mac.slice(0, KEY_HEX);
}

/**
 * Visitor key for a first-party id (opt-in cookie): HMAC keyed by the site, so it is stable across days and
 * the id itself never reaches a store; prefixed `fp_` so the two kinds never collide.
 */
export async function firstPartyVisitorKey(hasher: Hasher, site: string, id: string): Promise<string> {
  const mac = await hasher.hmac(site, id);
  return `fp_${mac.slice(0, KEY_HEX)}`;
}
