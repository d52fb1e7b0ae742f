import type { HeaderSource, RequestInfo } from '../types.js';

/**
 * Headers that read through to the request's own, with some names replaced (a string) or removed (null).
 * Names are matched lower-cased, as Node gives them.
 */
export function overrideHeaders(
  source: HeaderSource,
  overrides: Record<string, string | null>,
): HeaderSource {
  return {
    get(name: string): string | null {
      const key = name.toLowerCase();
      if (Object.hasOwn(overrides, key)) return overrides[key] ?? null;
      if (typeof source.get === 'function') {
        return (source as { get(name: string): string | null | undefined }).get(key) ?? null;
      }
      const value = (source as Record<string, string | string[] | undefined>)[key];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * A GET navigation to `url` by the visitor behind `req`: how a beacon's SPA navigation is tracked, and how
 * `identify` and engagement beacons (sent by POST to other paths) find the visitor's identity through the very
 * same normalization as their page views.
 */
export function syntheticNavigation(
  req: RequestInfo,
  url: string,
  referrer: string | null | undefined,
): RequestInfo {
  // The beacon itself is a fetch/sendBeacon POST: its fetch metadata describes that call, not the navigation.
  const overrides: Record<string, string | null> = {
    accept: 'text/html',
    'sec-fetch-mode': null,
    'sec-fetch-dest': null,
    'sec-fetch-site': null,
    'sec-purpose': null,
    purpose: null,
    'x-purpose': null,
    'x-moz': null,
  };
  if (referrer !== undefined) overrides.referer = referrer;
  return {
    method: 'GET',
    url,
    headers: overrideHeaders(req.headers, overrides),
    ip: req.ip ?? null,
    status: 200,
    userId: req.userId ?? null,
    scope: req.scope ?? null,
  };
}
