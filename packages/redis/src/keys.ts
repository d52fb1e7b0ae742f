import { redisError } from './errors.js';

/** Longest visitor key or scope accepted in a key name; core keeps both far shorter. */
export const MAX_KEY_PART = 512;

/**
 * Where every key of the hot store lives. Visitors are spread over `buckets` shards; each shard's keys share
 * one hash tag (`{b<n>}`), so a visitor's session, pointer, rate counter, real-time entries and expiry index
 * sit in one Cluster slot and one Lua script can touch them all.
 */
export class KeyLayout {
  readonly prefix: string;
  readonly buckets: number;

  constructor(prefix: string, buckets: number) {
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw redisError(
        'invalid_config',
        `prefix must be a string without "{" or "}" (got ${JSON.stringify(prefix)})`,
      );
    }
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 16_384) {
      throw redisError('invalid_config', `buckets must be an integer in [1, 16384] (got ${String(buckets)})`);
    }
    this.prefix = prefix;
    this.buckets = buckets;
  }

  /** The shard of a visitor key: FNV-1a over its UTF-16 code units, so every instance agrees. */
  bucketOf(visitorKey: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < visitorKey.length; i++) {
      hash ^= visitorKey.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash % this.buckets;
  }

  /** Common start of every key of shard `bucket`: `anon:{b7}:`. */
  base(bucket: number): string {
    return `${this.prefix}{b${bucket}}:`;
  }

  /** Visitor pointer: visitor key → id of its live session. */
  pointer(bucket: number, visitorKey: string): string {
    return `${this.base(bucket)}v:${visitorKey}`;
  }

  /** Session hash. */
  session(bucket: number, sessionId: string): string {
    return `${this.base(bucket)}s:${sessionId}`;
  }

  /** Rate counter of one visitor for one minute. */
  rate(bucket: number, visitorKey: string, minute: number): string {
    return `${this.base(bucket)}r:${visitorKey}:${minute}`;
  }

  /** Expiry index: unclaimed sessions scored by `lastSeenAt`. */
  expiry(bucket: number): string {
    return `${this.base(bucket)}x`;
  }

  /** Lease index: claimed sessions scored by the end of their lease. */
  lease(bucket: number): string {
    return `${this.base(bucket)}l`;
  }

  /**
   * Common start of the real-time sets of a single Redis, `anon:{rt}:`: there one set per scope holds every
   * visitor, so a batch writes each set once (on Cluster each shard keeps its own, in its slot).
   */
  sharedRealtimeBase(): string {
    return `${this.prefix}{rt}:`;
  }

  /**
   * Real-time set: overall (no scope) or one scope; members are visitor keys scored by view time. `bucket` is the
   * shard (Cluster, and what a single Redis held before the shared sets), `null` the single Redis' shared set.
   */
  realtime(bucket: number | null, scope?: string): string {
    const base = bucket === null ? this.sharedRealtimeBase() : this.base(bucket);
    return scope === undefined ? `${base}rt` : `${base}rt:${scope}`;
  }

  /** The authenticated visitors of a real-time set: those whose view at that score carried a user id. */
  realtimeAuthenticated(bucket: number | null, scope?: string): string {
    const base = bucket === null ? this.sharedRealtimeBase() : this.base(bucket);
    return scope === undefined ? `${base}ra` : `${base}ra:${scope}`;
  }

  /**
   * The salts of every period held, one hash (field: period). One key, outside the shards and without a TTL,
   * so eviction never takes a salt; the salt script deletes old periods itself.
   */
  salts(): string {
    return `${this.prefix}salts`;
  }
}

/** Rejects a visitor key or scope that is not a usable key part (never a crash later in Redis). */
export function checkKeyPart(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_PART) {
    throw redisError(
      'invalid_input',
      `${what} must be a non-empty string of at most ${MAX_KEY_PART} characters`,
    );
  }
  return value;
}

/** CRC16-CCITT (XMODEM) table, the checksum Redis Cluster maps keys to slots with. */
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

const utf8 = new TextEncoder();

/**
 * The Redis Cluster slot of a full key name (client `keyPrefix` included), as `CLUSTER KEYSLOT` computes it:
 * the hash tag between the first `{` and the next `}` if non-empty, else the whole key.
 */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of utf8.encode(hashed))
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc % 16_384;
}
