// SIGNATURE STUB — the core-normalize helper implements this.
import type { AnonError } from './errors.js';

/** Largest beacon body accepted, in bytes. */
export const BEACON_MAX_BYTES = 2048;

/**
 * What the browser script sends to `POST /_anon/e`:
 * - `{ "t": "e", "v": viewId, "ms"?: engagedMs, "sd"?: scrollDepth 0–100, "ix"?: interactions }` engagement;
 * - `{ "t": "p", "u": url, "r"?: referrer }` an SPA navigation.
 */
export type Beacon =
  | { type: 'engagement'; viewId: string; engagedMs: number | null; scrollDepth: number | null; interactions: number | null }
  | { type: 'navigation'; url: string; referrer: string | null };

/** Parse a JSON string or an already parsed value; a typed error for anything else. Never throws. */
export declare function parseBeacon(body: unknown): Beacon | AnonError;
