import { SCRIPT, SCRIPT_ETAG, SCRIPT_VERSION } from './generated/script.js';

export { SCRIPT, SCRIPT_ETAG, SCRIPT_GZIP_BYTES, SCRIPT_VERSION } from './generated/script.js';

/** Where the docs and examples serve the page script. */
export const SCRIPT_PATH = '/_anon/script.js';

/** Options of `scriptTag`. */
export interface ScriptTagOptions {
  /**
   * URL of the script. The default carries the script's version, so a long `max-age` never serves a stale copy.
   * @default `/_anon/script.js?v=${SCRIPT_VERSION}`
   */
  src?: string;
  /** This page view's id (`req.anon.viewId`, `c.get('anon').viewId`, …); without one only navigations are sent. */
  viewId: string | null | undefined;
  /** The binding's beacon endpoint. @default '/_anon/e' */
  beaconPath?: string;
  /** A CSP nonce for the tag. @default none */
  nonce?: string;
}

/** Escapes text for a double-quoted HTML attribute. */
function attribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The `<script>` tag that loads the page script for one page view, with every attribute HTML-escaped.
 *
 * @example
 * app.get('/', (c) => c.html(`<body>…${scriptTag({ viewId: c.get('anon').viewId })}</body>`));
 */
export function scriptTag(options: ScriptTagOptions): string {
  const src = options.src ?? `${SCRIPT_PATH}?v=${SCRIPT_VERSION}`;
  let tag = `<script defer src="${attribute(src)}"`;
  if (typeof options.viewId === 'string' && options.viewId !== '') {
    tag += ` data-view="${attribute(options.viewId)}"`;
  }
  if (options.beaconPath !== undefined && options.beaconPath !== '/_anon/e') {
    tag += ` data-beacon="${attribute(options.beaconPath)}"`;
  }
  if (options.nonce !== undefined) tag += ` nonce="${attribute(options.nonce)}"`;
  return `${tag}></script>`;
}

/** What to answer a `GET` of the page script: framework-neutral, so every binding serves it the same way. */
export interface ScriptResponse {
  status: 200 | 304;
  headers: Record<string, string>;
  /** The script, or null for a 304. */
  body: string | null;
}

/** A year: the default `src` changes with the script, so a cached copy is never stale. */
const MAX_AGE_SECONDS = 31_536_000;

/**
 * The response for a `GET` of the page script: 200 with the script, or 304 when `ifNoneMatch` (the request's
 * `If-None-Match` header) names its ETag. Headers: `Content-Type`, `ETag`, `Cache-Control` (public, a year).
 *
 * @example
 * app.get('/_anon/script.js', (c) => {
 *   const { status, headers, body } = scriptResponse(c.req.header('if-none-match'));
 *   return new Response(body, { status, headers });
 * });
 */
export function scriptResponse(ifNoneMatch?: string | null): ScriptResponse {
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    etag: SCRIPT_ETAG,
    'cache-control': `public, max-age=${MAX_AGE_SECONDS}`,
  };
  return matches(ifNoneMatch, SCRIPT_ETAG)
    ? { status: 304, headers, body: null }
    : { status: 200, headers, body: SCRIPT };
}

/** `If-None-Match` compares weakly (RFC 9110 §13.1.2): `W/` is ignored, `*` matches. */
function matches(header: string | null | undefined, etag: string): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
