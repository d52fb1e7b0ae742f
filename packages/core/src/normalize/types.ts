import type { BotVerdict, DeviceFields, SourceFields } from '../types.js';

/** Why `normalize` decided not to track a request. */
export type SkipReason = 'method' | 'status' | 'not-html' | 'excluded' | 'dnt' | 'prefetch' | 'invalid';

/** A request that counts, reduced to what anon may keep. Every string respects `LIMITS`. */
export interface NormalizedRequest extends SourceFields, DeviceFields {
  /** `full`: sessions and visitor keys; `aggregate`: DNT / Sec-GPC, counted without a visitor. */
  privacy: 'full' | 'aggregate';
  /** Aggregation key: route pattern if known, else the normalized path. */
  path: string;
  /** True when `path` is a route pattern (reported by the binding or matched by the `routes` option). */
  fromRoute: boolean;
  /** Normalized path with allowlisted query. */
  url: string;
  pageType: string | null;
  scope: string | null;
  userId: string | null;
  /** User agent truncated to `LIMITS.userAgent`; used for the visitor key, never stored. */
  userAgent: string;
  /** The IP as received (for the visitor key and geo); never stored. */
  rawIp: string;
  /** The IP in the form the configured `ipMode` allows storing (null for `drop`). */
  ip: string | null;
  /** The request's own host (lower-cased), used to tell internal from external referrers. */
  host: string | null;
  bot: BotVerdict;
}

export type NormalizeResult =
  | { track: true; request: NormalizedRequest }
  | { track: false; reason: SkipReason };
