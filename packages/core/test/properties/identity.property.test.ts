import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { webCryptoHasher } from '../../src/defaults.js';
import { DAY_MS, firstPartyVisitorKey, saltPeriod, visitorKey } from '../../src/identity.js';

const hasher = webCryptoHasher();
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const salt = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => Buffer.from(bytes).toString('hex'));

describe('visitor identity properties', () => {
  it('visitor keys differ across a salt rotation and match within one salt', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(salt, salt).filter(([today, yesterday]) => today !== yesterday),
        text(30),
        fc.oneof(fc.ipV4(), fc.ipV6()),
        text(500),
        async ([today, yesterday], site, ip, ua) => {
          const first = await visitorKey(hasher, today, site, ip, ua);
          const again = await visitorKey(hasher, today, site, ip, ua);
          const rotated = await visitorKey(hasher, yesterday, site, ip, ua);
          expect(first).toMatch(/^[0-9a-f]{32}$/);
          expect(again).toBe(first);
          expect(rotated).not.toBe(first);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a salt period lasts exactly one UTC day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (now) => {
        const period = saltPeriod(now);
        expect(period * DAY_MS).toBeLessThanOrEqual(now);
        expect(now).toBeLessThan((period + 1) * DAY_MS);
      }),
    );
  });

  it('first-party keys are stable for one id and site, distinct across ids', async () => {
    await fc.assert(
      fc.asyncProperty(
        text(30),
        fc.tuple(text(64), text(64)).filter(([a, b]) => a !== b),
        async (site, [a, b]) => {
          const key = await firstPartyVisitorKey(hasher, site, a);
          expect(key).toMatch(/^fp_[0-9a-f]{32}$/);
          expect(await firstPartyVisitorKey(hasher, site, a)).toBe(key);
          expect(await firstPartyVisitorKey(hasher, site, b)).not.toBe(key);
        },
      ),
      { numRuns: 100 },
    );
  });
});
