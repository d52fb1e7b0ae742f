import { LIMITS } from '../config.js';
import type { SourceFields } from '../types.js';
import { hostname, hostOf } from './path.js';
import { truncate } from './truncate.js';

/** Longest host kept (a DNS name is at most 253 characters; a port fits in the rest). */
export const HOST_MAX = 260;

const ABSOLUTE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i;
const BAD_HOST = /[\s\\<>"{}|^`]/;

/** A host compared for "same site": no port, no leading `www.`. */
function siteOf(host: string): string {
  const name = hostname(host);
  return name.startsWith('www.') ? name.slice(4) : name;
}

/**
 * The referrer to keep: origin + path (no query, no fragment, no credentials) and its host without `www.`.
 * Unparsable, or from the request's own site (`requestHosts`), gives nulls: direct and internal traffic
 * carry no source.
 */
export function referrerFields(
  value: string | null,
  requestHosts: readonly (string | null)[],
): Pick<SourceFields, 'referrer' | 'referrerHost'> {
  const none = { referrer: null, referrerHost: null };
  if (value === null) return none;
  const match = ABSOLUTE.exec(value.trim());
  if (match === null) return none;
  const host = hostOf(match[2]!);
  if (host === null || BAD_HOST.test(host)) return none;
  const site = siteOf(host);
  if (site === '') return none;
  for (const requestHost of requestHosts) {
    if (requestHost !== null && siteOf(requestHost) === site) return none;
  }
  const path = match[3] === '' ? '/' : match[3]!;
  return {
    referrer: truncate(`${match[1]!.toLowerCase()}://${host}${path}`, LIMITS.referrer),
    referrerHost: truncate(site, HOST_MAX),
  };
}
