import { LIMITS } from '../config.js';
import type { SourceFields } from '../types.js';
import { truncate } from './truncate.js';

/** Keys that carry credentials or personal data: dropped whatever the allowlist says. */
const SECRET_KEYS = new Set([
  'code',
  'state',
  'key',
  'auth',
  'sig',
  'sid',
  'otp',
  'pin',
  'cvv',
  'ssn',
  'nonce',
  'phone',
  'tel',
  'ticket',
  'hash',
  'oauth_verifier',
]);

/** Substrings that make a key secret-looking (`access_token`, `client_secret`, `user_email`, `x-api-key`…). */
const SECRET_PARTS =
  /token|secret|passw|pwd|session|signature|api[-_.]?key|jwt|credential|bearer|e-?mail|private|(?:^|[-_.])auth(?:$|[-_.])|^oauth|saml/;

/** The keys almost every kept pair has: known not to be secret, so they skip the pattern test. */
const SAFE_KEYS = new Set([
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'utm_id',
  'ref',
]);

/** True for a query key that must never be kept (`token`, `password`, `email`, `api_key`, …), in any case. */
export function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  if (SAFE_KEYS.has(lower)) return false;
  return SECRET_KEYS.has(lower) || SECRET_PARTS.test(lower);
}

type UtmFields = Pick<SourceFields, 'utmSource' | 'utmMedium' | 'utmCampaign' | 'utmTerm' | 'utmContent'>;

const UTM_FIELDS = new Map<string, keyof UtmFields>([
  ['utm_source', 'utmSource'],
  ['utm_medium', 'utmMedium'],
  ['utm_campaign', 'utmCampaign'],
  ['utm_term', 'utmTerm'],
  ['utm_content', 'utmContent'],
]);

export interface QueryResult extends UtmFields {
  /** Allowlisted pairs, sorted by key, re-encoded; '' when none is kept. */
  query: string;
}

/** Form-encoding decode (`+` is a space); a malformed escape keeps the text as received. */
function decode(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `encodeURIComponent` that cannot throw: a lone surrogate (invalid UTF-16) becomes U+FFFD first. */
export function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
}

/**
 * Keep only `utm_*`, `ref` and the allowlisted keys of a query string, never a secret-looking key, and read
 * the five UTM fields. `allowlist` holds lower-cased keys.
 */
export function filterQuery(query: string, allowlist: ReadonlySet<string>): QueryResult {
  const result: QueryResult = {
    query: '',
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
  };
  if (query === '') return result;
  const kept: [string, string | null][] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (key === '') continue;
    const lower = key.toLowerCase();
    if (!(lower.startsWith('utm_') || lower === 'ref' || allowlist.has(lower)) || isSecretKey(lower))
      continue;
    const value = eq === -1 ? null : decode(pair.slice(eq + 1));
    kept.push([key, value]);
    const field = UTM_FIELDS.get(lower);
    if (field !== undefined && result[field] === null && value !== null) {
      const trimmed = value.trim();
      if (trimmed !== '') result[field] = truncate(trimmed, LIMITS.utm);
    }
  }
  if (kept.length === 0) return result;
  // Sorted so `?b=1&a=2` and `?a=2&b=1` give one url; the sort is stable, so repeated keys keep their order.
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  result.query = kept
    .map(([key, value]) =>
      value === null ? encodeComponent(key) : `${encodeComponent(key)}=${encodeComponent(value)}`,
    )
    .join('&');
  return result;
}
