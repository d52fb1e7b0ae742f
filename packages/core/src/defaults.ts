// SIGNATURE STUB — the core-normalize helper implements these (Web Crypto only, no `node:` imports).
import type { Clock, Hasher, Ids, Logger } from './ports.js';

export declare const systemClock: Clock;
/** UUIDv7 from `crypto.getRandomValues`, monotonic within a millisecond. */
export declare function uuidv7Ids(): Ids;
/** HMAC-SHA-256 through `crypto.subtle`, with imported keys cached per salt. */
export declare function webCryptoHasher(): Hasher;
/** Logs through `console`, at most `perMinute` lines a minute per message. */
export declare function consoleLogger(perMinute?: number): Logger;
/** A random 32-byte hex string (a new salt). */
export declare function randomHex(bytes: number): string;
