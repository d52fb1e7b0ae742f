import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLogger, randomHex, systemClock, uuidv7Ids, webCryptoHasher } from '../src/defaults.js';
import { isAnonError } from '../src/errors.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe('uuidv7Ids', () => {
  it('makes RFC 9562 version 7 ids carrying the millisecond timestamp', () => {
    const at = Date.UTC(2026, 0, 15, 12);
    const id = uuidv7Ids().next(at);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('is strictly increasing within one millisecond, also past the 12-bit counter', () => {
    const ids = uuidv7Ids();
    const at = Date.UTC(2026, 0, 15, 12);
    const made = Array.from({ length: 5_000 }, () => ids.next(at));
    for (let i = 1; i < made.length; i++)
      expect(made[i]! > made[i - 1]!, `${made[i - 1]} < ${made[i]}`).toBe(true);
    expect(new Set(made).size).toBe(made.length);
    for (const id of made) expect(id).toMatch(UUID_V7);
  });

  it('stays increasing when the clock steps back, and follows it forward again', () => {
    const ids = uuidv7Ids();
    const at = Date.UTC(2026, 0, 15, 12);
    const first = ids.next(at);
    const stepBack = ids.next(at - 5_000);
    expect(stepBack > first).toBe(true);
    const later = ids.next(at + 60_000);
    expect(Number.parseInt(later.replace(/-/g, '').slice(0, 12), 16)).toBe(at + 60_000);
    expect(ids.next(Number.NaN)).toMatch(UUID_V7);
  });

  it('differs between generators in the same millisecond (random bits)', () => {
    const at = Date.UTC(2026, 0, 15, 12);
    expect(uuidv7Ids().next(at)).not.toBe(uuidv7Ids().next(at));
  });
});

describe('webCryptoHasher', () => {
  it('computes HMAC-SHA-256 (RFC 4231 test case 2)', async () => {
    const mac = await webCryptoHasher().hmac('Jefe', 'what do ya want for nothing?');
    expect(mac).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('accepts an empty key, as HMAC defines it (zero-padded to the block size)', async () => {
    const hasher = webCryptoHasher();
    expect(await hasher.hmac('', 'message')).toBe(await hasher.hmac('\u0000', 'message'));
    expect(await hasher.hmac('', 'message')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same result for a cached key and after many keys were evicted', async () => {
    const hasher = webCryptoHasher();
    const first = await hasher.hmac('salt', 'message');
    for (let i = 0; i < 40; i++) await hasher.hmac(`key-${i}`, 'message');
    expect(await hasher.hmac('salt', 'message')).toBe(first);
    expect(await hasher.hmac('salt', 'other')).not.toBe(first);
  });
});

describe('without Web Crypto', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('ids and random hex fail with a clear invalid_config error', () => {
    vi.stubGlobal('crypto', undefined);
    let error: unknown;
    try {
      uuidv7Ids().next(Date.UTC(2026, 0, 15));
    } catch (caught) {
      error = caught;
    }
    expect(isAnonError(error, 'invalid_config')).toBe(true);
    expect(() => randomHex(4)).toThrow(/no Web Crypto/);
  });
});

describe('randomHex', () => {
  it('gives 2 hex characters per byte, random each call', () => {
    expect(randomHex(32)).toMatch(/^[0-9a-f]{64}$/);
    expect(randomHex(32)).not.toBe(randomHex(32));
    expect(randomHex(0)).toBe('');
    expect(randomHex(70_000)).toHaveLength(140_000);
  });

  it('rejects a byte count that is not a whole number', () => {
    let error: unknown;
    try {
      randomHex(-1);
    } catch (caught) {
      error = caught;
    }
    expect(isAnonError(error, 'invalid_input')).toBe(true);
    expect(() => randomHex(1.5)).toThrow(/whole number of bytes/);
  });
});

describe('consoleLogger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints every warn and error line as given, with its data, and no debug line', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const logger = consoleLogger();
    for (let i = 0; i < 3; i++) logger.warn('[anon] [core] store down', { attempt: i });
    logger.error('[anon] [core] failed');
    expect(warn.mock.calls).toEqual([
      ['[anon] [core] store down', { attempt: 0 }],
      ['[anon] [core] store down', { attempt: 1 }],
      ['[anon] [core] store down', { attempt: 2 }],
    ]);
    expect(error.mock.calls).toEqual([['[anon] [core] failed']]);
    expect(logger.debug).toBeUndefined();
  });
});
