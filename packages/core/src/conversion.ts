// SIGNATURE STUB — the core-engine helper implements this.
import type { Conversion, IdentifyRequest, Session } from './types.js';

/**
 * The signup conversion for an identify request and the visitor's stored sessions (docs/concepts.md): links
 * the anonymous sessions started in [since, at] (and the live one), with first- and last-touch attribution.
 * Null for `login`. Deterministic id `signup:<userId>`, so identify twice converts once.
 */
export declare function buildConversion(req: IdentifyRequest, stored: Session[]): Conversion | null;
