// The injectable defaults: the only core module allowed to read the clock and the random source.
import { AnonError } from './errors.js';
import type { Clock, Hasher, Ids, Logger } from './ports.js';

function webCrypto(): Crypto {
  const crypto = (globalThis as { crypto?: Crypto }).crypto;
  if (crypto?.getRandomValues === undefined) {
    throw new AnonError(
      'invalid_config',
      'this runtime has no Web Crypto (globalThis.crypto); inject ids and hasher',
    );
  }
  return crypto;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += HEX[byte];
  return hex;
}

/** The wall clock (`Date.now()`). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A random hex string of `bytes` random bytes (`randomHex(32)` is a new salt). */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw new AnonError('invalid_input', `randomHex() needs a whole number of bytes, got ${String(bytes)}`);
  }
  const out = new Uint8Array(bytes);
  // getRandomValues fills at most 65_536 bytes per call.
  for (let at = 0; at < bytes; at += 65_536) webCrypto().getRandomValues(out.subarray(at, at + 65_536));
  return toHex(out);
}

/** The largest value of the 12-bit `rand_a` field, used as a counter within one millisecond. */
const COUNTER_MAX = 0xfff;

/**
 * UUIDv7 ids (RFC 9562) from `crypto.getRandomValues`, monotonic within a millisecond: `rand_a` holds a
 * counter started at a random value below 2048 and bumped for every id of the same (or an earlier) ms; when
 * it overflows, the timestamp borrows the next millisecond so ids keep increasing.
 * @example const id = uuidv7Ids().next(Date.now());
 */
export function uuidv7Ids(): Ids {
  let lastMs = -1;
  let counter = 0;
  let prefix = '';
  let prefixMs = -1;
  // Random bytes are drawn in blocks: one getRandomValues call per 512 ids, not one or two per id.
  const pool = new Uint8Array(4096);
  let at = pool.length;
  const take = (n: number): number => {
    if (at + n > pool.length) {
      webCrypto().getRandomValues(pool);
      at = 0;
    }
    const start = at;
    at += n;
    return start;
  };
  return {
    next(now) {
      const ms = Number.isFinite(now) ? Math.max(0, Math.floor(now)) : 0;
      if (ms > lastMs) {
        lastMs = ms;
        const i = take(2);
        counter = ((pool[i]! << 8) | pool[i + 1]!) & 0x7ff;
      } else {
        counter++;
        if (counter > COUNTER_MAX) {
          lastMs++;
          counter = 0;
        }
      }
      const r = take(8);
      // The timestamp's hex is the same for every id of one millisecond: made once per millisecond.
      if (prefixMs !== lastMs) {
        const time = lastMs.toString(16).padStart(12, '0').slice(-12);
        prefix = `${time.slice(0, 8)}-${time.slice(8)}-`;
        prefixMs = lastMs;
      }
      const randA = (0x7000 | counter).toString(16);
      const p = pool;
      // Variant bits `10` in the top of rand_b.
      return `${prefix}${randA}-${HEX[(p[r]! & 0x3f) | 0x80]}${HEX[p[r + 1]!]}-${HEX[p[r + 2]!]}${HEX[p[r + 3]!]}${HEX[p[r + 4]!]}${HEX[p[r + 5]!]}${HEX[p[r + 6]!]}${HEX[p[r + 7]!]}`;
    },
  };
}

/** Imported keys kept at once: the current and previous salt plus a few sites' first-party keys. */
const MAX_KEYS = 16;

/**
 * HMAC-SHA-256 through `crypto.subtle`, hex-encoded. Imported `CryptoKey`s are cached per key (a salt changes
 * once a day) in a small bounded map, so a request costs one `sign`; `forget(key)` drops one (the engine
 * calls it when a salt expires).
 */
export function webCryptoHasher(): Hasher {
  const keys = new Map<string, Promise<CryptoKey>>();
  const encoder = new TextEncoder();
  const keyFor = (key: string): Promise<CryptoKey> => {
    let imported = keys.get(key);
    if (imported === undefined) {
      const raw = encoder.encode(key);
      // HMAC zero-pads a key to the 64-byte block, so an empty key equals 64 zero bytes; Web Crypto refuses
      // a zero-length key, so hand it the equivalent one.
      imported = webCrypto().subtle.importKey(
        'raw',
        raw.length === 0 ? new Uint8Array(64) : raw,
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
      keys.set(key, imported);
      // A failed import must not stay cached.
      imported.catch(() => keys.delete(key));
    }
    return imported;
  };
  return {
    async hmac(key, message) {
      const signature = await webCrypto().subtle.sign('HMAC', await keyFor(key), encoder.encode(message));
      return toHex(new Uint8Array(signature));
    },
    forget(key) {
      keys.delete(key);
    },
  };
}

/**
 * Logs through `console.warn` / `console.error`, every line it is given; debug lines are not printed. It does
 * not throttle: anon's own sources do, once, through `createLogThrottle` (the failure log one line per message
 * a minute, the Redis queue one per 10 s, the dashboard one a minute), so a failing store cannot flood the logs.
 * Wrap it with `createLogThrottle` (`@anon/core/adapter`) to throttle lines of your own.
 */
export function consoleLogger(): Logger {
  return {
    warn: (msg, data) => (data === undefined ? console.warn(msg) : console.warn(msg, data)),
    error: (msg, data) => (data === undefined ? console.error(msg) : console.error(msg, data)),
  };
}

/** The slice of Node's `crypto` module the default hasher uses. */
interface NodeCrypto {
  createHmac(algorithm: 'sha256', key: string): { update(data: string): { digest(encoding: 'hex'): string } };
}

/**
 * Node's `crypto` module when this runtime has it, found at run time (`process.getBuiltinModule`, Node ≥ 20.16,
 * Bun, Deno) so that core still imports no `node:` module and runs unchanged on edge runtimes.
 */
function nodeCrypto(): NodeCrypto | null {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
    return typeof mod?.createHmac === 'function' ? mod : null;
  } catch {
    return null;
  }
}

/**
 * The default hasher: Web Crypto's HMAC-SHA-256, plus a synchronous `hmacSync` through Node's `crypto` where
 * the runtime has it (about twice as cheap per key, and no promise per key). Both give the same hex digest.
 */
export function defaultHasher(): Hasher {
  const web = webCryptoHasher();
  const node = nodeCrypto();
  if (node === null) return web;
  return {
    hmac: web.hmac,
    forget: web.forget,
    hmacSync: (key, message) => node.createHmac('sha256', key).update(message).digest('hex'),
  };
}
