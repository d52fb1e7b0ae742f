import type { HeaderSource } from '../types.js';
import { headerValue } from './headers.js';
import { isAssetPath } from './path.js';

/** `Sec-Fetch-Dest` values of a page load: a top-level document or a framed one. */
const PAGE_DESTINATIONS = new Set(['document', 'iframe', 'frame']);

/**
 * True for a request a browser makes to show a page. `Sec-Fetch-Dest` decides when present; else `Accept`
 * must name HTML; with neither (old clients, tests), any path that is not a static asset counts.
 */
export function isHtmlNavigation(headers: HeaderSource, path: string): boolean {
  const dest = headerValue(headers, 'sec-fetch-dest');
  if (dest !== null && dest.trim() !== '') return PAGE_DESTINATIONS.has(dest.trim().toLowerCase());
  const accept = headerValue(headers, 'accept');
  if (accept !== null && accept.trim() !== '') {
    const lower = accept.toLowerCase();
    return lower.includes('text/html') || lower.includes('application/xhtml+xml');
  }
  return !isAssetPath(path);
}

/** True for a speculative load (`Sec-Purpose: prefetch`, `Purpose: prefetch`, `X-Moz: prefetch`): nobody saw it. */
export function isPrefetch(headers: HeaderSource): boolean {
  for (const name of ['sec-purpose', 'purpose', 'x-purpose', 'x-moz']) {
    const value = headerValue(headers, name);
    if (value?.toLowerCase().includes('prefetch')) return true;
  }
  return false;
}

/** True when the request carries `DNT: 1` or `Sec-GPC: 1`. */
export function hasPrivacySignal(headers: HeaderSource): boolean {
  return headerValue(headers, 'dnt')?.trim() === '1' || headerValue(headers, 'sec-gpc')?.trim() === '1';
}
