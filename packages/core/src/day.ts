// SIGNATURE STUB — the core-normalize helper implements this.
import type { Day, Millis } from './types.js';

/** The calendar day of `at` in `timeZone` (IANA), `YYYY-MM-DD`. Fast path for UTC; formatters cached. */
export declare function dayOf(at: Millis, timeZone: string): Day;
