import { describe, expect, it } from 'vitest';
import { BEACON_MAX_BYTES, parseBeacon } from '../src/beacon.js';
import { AnonError, isAnonError } from '../src/errors.js';

function code(value: unknown): string | null {
  return value instanceof AnonError ? value.code : null;
}

describe('parseBeacon', () => {
  it('parses an engagement beacon from a JSON string', () => {
    expect(parseBeacon('{"t":"e","v":"0190f0e2-aaaa","ms":5400.6,"sd":80.4,"ix":3}')).toEqual({
      type: 'engagement',
      viewId: '0190f0e2-aaaa',
      engagedMs: 5401,
      scrollDepth: 80,
      interactions: 3,
    });
  });

  it('parses an already parsed object, and UTF-8 bytes', () => {
    expect(parseBeacon({ t: 'e', v: 'abc' })).toEqual({
      type: 'engagement',
      viewId: 'abc',
      engagedMs: null,
      scrollDepth: null,
      interactions: null,
    });
    expect(parseBeacon(new TextEncoder().encode('{"t":"p","v":"view-1","u":"/posts/2"}'))).toEqual({
      type: 'navigation',
      fromViewId: 'view-1',
      url: '/posts/2',
      referrer: null,
    });
  });

  it('clamps engagement values', () => {
    const beacon = parseBeacon({ t: 'e', v: 'v', ms: 10 * 86_400_000, sd: 250, ix: 50_000 });
    expect(beacon).toMatchObject({ engagedMs: 86_400_000, scrollDepth: 100, interactions: 10_000 });
    expect(parseBeacon({ t: 'e', v: 'v', sd: -5, ix: -2, ms: 0 })).toMatchObject({
      scrollDepth: 0,
      interactions: 0,
      engagedMs: 0,
    });
  });

  it('parses a navigation beacon and ignores unknown keys', () => {
    expect(
      parseBeacon({ t: 'p', v: 'view-1', u: 'https://example.com/a?b=1', r: 'https://t.co/x', extra: true }),
    ).toEqual({
      type: 'navigation',
      fromViewId: 'view-1',
      url: 'https://example.com/a?b=1',
      referrer: 'https://t.co/x',
    });
    expect(parseBeacon({ t: 'p', v: 'view-1', u: '/', r: '' })).toMatchObject({ referrer: null });
  });

  it.each([
    ['not JSON', '{t:'],
    ['an array', '[1]'],
    ['null', null],
    ['a number', 42],
    ['an unknown type', { t: 'x' }],
    ['a missing view id', { t: 'e' }],
    ['an empty view id', { t: 'e', v: '' }],
    ['a view id with forbidden characters', { t: 'e', v: 'a b' }],
    ['a view id over 64 characters', { t: 'e', v: 'a'.repeat(65) }],
    ['a negative engaged time', { t: 'e', v: 'v', ms: -1 }],
    ['an infinite engaged time', { t: 'e', v: 'v', ms: Number.POSITIVE_INFINITY }],
    ['a string scroll depth', { t: 'e', v: 'v', sd: '50' }],
    ['a fractional interaction count', { t: 'e', v: 'v', ix: 1.5 }],
    ['a navigation without url', { t: 'p', v: 'view-1' }],
    ['a navigation without the view it leaves', { t: 'p', u: '/posts/2' }],
    ['a navigation to another scheme', { t: 'p', v: 'view-1', u: 'javascript:alert(1)' }],
    ['a navigation url over 2000 characters', { t: 'p', v: 'view-1', u: `/${'a'.repeat(2_000)}` }],
    ['a non-string referrer', { t: 'p', v: 'view-1', u: '/', r: 5 }],
  ])('rejects %s with invalid_beacon', (_name, body) => {
    const result = parseBeacon(body);
    expect(code(result)).toBe('invalid_beacon');
    expect((result as AnonError).message).toMatch(/^\[anon\] \[core\] beacon /);
  });

  it('rejects a body over BEACON_MAX_BYTES with payload_too_large, counting UTF-8 bytes', () => {
    expect(code(parseBeacon('x'.repeat(BEACON_MAX_BYTES + 1)))).toBe('payload_too_large');
    // "é😀" is 3 UTF-16 units but 6 UTF-8 bytes: 400 of them fit the unit count and not the byte count.
    const multibyte = `{"t":"e","v":"v","x":"${'é😀'.repeat(400)}"}`;
    expect(multibyte.length).toBeLessThan(BEACON_MAX_BYTES);
    expect(code(parseBeacon(multibyte))).toBe('payload_too_large');
    expect(code(parseBeacon(new Uint8Array(BEACON_MAX_BYTES + 1)))).toBe('payload_too_large');
    // "€" is one UTF-16 unit and 3 UTF-8 bytes.
    expect(code(parseBeacon(`{"t":"e","v":"v","x":"${'€'.repeat(690)}"}`))).toBe('payload_too_large');
    expect(parseBeacon(`{"t":"e","v":"v","x":"${'€'.repeat(600)}"}`)).toMatchObject({ type: 'engagement' });
    const exact = `{"t":"e","v":"v","x":"${'a'.repeat(BEACON_MAX_BYTES - 24)}"}`;
    expect(exact.length).toBe(BEACON_MAX_BYTES);
    expect(parseBeacon(exact)).toMatchObject({ type: 'engagement' });
    const loneSurrogates = `{"t":"e","v":"v","x":"${'\ud800'.repeat(700)}"}`;
    // A lone surrogate is sent as U+FFFD: 3 bytes each, 700 of them exceed the limit in under 800 units.
    expect(loneSurrogates.length).toBeLessThan(800);
    expect(code(parseBeacon(loneSurrogates))).toBe('payload_too_large');
  });

  it('never throws, even on an object whose getters throw', () => {
    const hostile = {
      get t(): string {
        throw new Error('boom');
      },
    };
    const result = parseBeacon(hostile);
    expect(isAnonError(result, 'invalid_beacon')).toBe(true);
    expect((result as AnonError).cause).toBeInstanceOf(Error);
  });
});
