import { AnonError } from './errors.js';
import { truncate } from './normalize/truncate.js';

/** Largest beacon body accepted, in bytes. */
export const BEACON_MAX_BYTES = 2048;

/**
 * What the browser script sends to `POST /_anon/e`:
 * - `{ "t": "e", "v": viewId, "ms"?: engagedMs, "sd"?: scrollDepth 0–100, "ix"?: interactions }` engagement;
 * - `{ "t": "p", "v": viewId, "u": url, "r"?: referrer }` an SPA navigation away from view `v` (the page's
 *   current view, which the server issued): accepted only while `v` is its visitor's last view.
 */
export type Beacon =
  | {
      type: 'engagement';
      viewId: string;
      engagedMs: number | null;
      scrollDepth: number | null;
      interactions: number | null;
    }
  | { type: 'navigation'; fromViewId: string; url: string; referrer: string | null };

/** Engaged time is capped at a day: a tab left open longer says nothing more about reading. */
const MAX_ENGAGED_MS = 86_400_000;
const MAX_INTERACTIONS = 10_000;
/** Longest URL or referrer a navigation beacon may carry. */
const MAX_BEACON_URL = 2_000;
const VIEW_ID = /^[0-9A-Za-z_-]{1,64}$/;

function invalid(message: string): AnonError {
  return new AnonError('invalid_beacon', `beacon ${message}`);
}

/** UTF-8 length of a string without allocating its encoding (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function tooLarge(bytes: number): AnonError {
  return new AnonError(
    'payload_too_large',
    `beacon body is ${bytes} bytes; at most ${BEACON_MAX_BYTES} are accepted`,
  );
}

/** A number field: missing → null; present, it must be a finite number. */
function numberField(body: Record<string, unknown>, key: string): number | null | AnonError {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value))
    return invalid(`field "${key}" must be a finite number`);
  return value;
}

function engagement(body: Record<string, unknown>): Beacon | AnonError {
  const viewId = body.v;
  if (typeof viewId !== 'string' || !VIEW_ID.test(viewId)) {
    return invalid('field "v" must be a view id of 1–64 characters [0-9A-Za-z_-]');
  }
  const ms = numberField(body, 'ms');
  if (ms instanceof AnonError) return ms;
  if (ms !== null && ms < 0) return invalid('field "ms" must not be negative');
  const sd = numberField(body, 'sd');
  if (sd instanceof AnonError) return sd;
  const ix = numberField(body, 'ix');
  if (ix instanceof AnonError) return ix;
  if (ix !== null && !Number.isInteger(ix)) return invalid('field "ix" must be an integer');
  return {
    type: 'engagement',
    viewId,
    engagedMs: ms === null ? null : Math.min(Math.round(ms), MAX_ENGAGED_MS),
    scrollDepth: sd === null ? null : Math.min(100, Math.max(0, Math.round(sd))),
    interactions: ix === null ? null : Math.min(MAX_INTERACTIONS, Math.max(0, ix)),
  };
}

function navigation(body: Record<string, unknown>): Beacon | AnonError {
  const fromViewId = body.v;
  if (typeof fromViewId !== 'string' || !VIEW_ID.test(fromViewId)) {
    return invalid(
      'field "v" must be the view id of the page navigated from (1–64 characters [0-9A-Za-z_-])',
    );
  }
  const url = body.u;
  if (
    typeof url !== 'string' ||
    url.length > MAX_BEACON_URL ||
    !(url.startsWith('/') || url.startsWith('http'))
  ) {
    return invalid(`field "u" must be a path or an http(s) URL of at most ${MAX_BEACON_URL} characters`);
  }
  const referrer = body.r;
  if (referrer !== undefined && referrer !== null && typeof referrer !== 'string') {
    return invalid('field "r" must be a string');
  }
  return {
    type: 'navigation',
    fromViewId,
    url,
    referrer: typeof referrer === 'string' && referrer !== '' ? truncate(referrer, MAX_BEACON_URL) : null,
  };
}

function parseValue(body: unknown): Beacon | AnonError {
  let value = body;
  if (value instanceof Uint8Array) {
    if (value.byteLength > BEACON_MAX_BYTES) return tooLarge(value.byteLength);
    value = new TextDecoder().decode(value);
  }
  if (typeof value === 'string') {
    // A UTF-16 unit is at least one UTF-8 byte, so a long string is rejected before it is measured.
    const bytes = value.length > BEACON_MAX_BYTES ? value.length : utf8Length(value);
    if (bytes > BEACON_MAX_BYTES) return tooLarge(bytes);
    try {
      value = JSON.parse(value);
    } catch {
      return invalid('body is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('body must be a JSON object');
  }
  const fields = value as Record<string, unknown>;
  // Unknown keys are ignored so a newer browser script can talk to an older server.
  if (fields.t === 'e') return engagement(fields);
  if (fields.t === 'p') return navigation(fields);
  return invalid('field "t" must be "e" (engagement) or "p" (navigation)');
}

/**
 * Parse a beacon from a JSON string, its UTF-8 bytes or an already parsed value. Returns the beacon, or an
 * `AnonError` (`payload_too_large` over `BEACON_MAX_BYTES`, `invalid_beacon` otherwise). Never throws.
 * @example const beacon = parseBeacon('{"t":"e","v":"0190…","ms":5400,"sd":80}');
 */
export function parseBeacon(body: unknown): Beacon | AnonError {
  try {
    return parseValue(body);
  } catch (cause) {
    return new AnonError('invalid_beacon', 'beacon could not be read', { cause });
  }
}
