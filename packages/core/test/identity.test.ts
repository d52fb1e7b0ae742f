import { describe, expect, it } from 'vitest';
import { webCryptoHasher } from '../src/defaults.js';
import { DAY_MS, firstPartyVisitorKey, saltPeriod, visitorKey } from '../src/identity.js';

const hasher = webCryptoHasher();
const noon = Date.UTC(2026, 0, 15, 12);

async function hmacHex(key: string, message: string): Promise<string> {
  const enc = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey(
    'raw',
    enc.encode(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return Buffer.from(await crypto.subtle.sign('HMAC', cryptoKey, enc.encode(message))).toString('hex');
}

describe('salt period', () => {
  it('is the index of the UTC 24 h period', () => {
    expect(saltPeriod(0)).toBe(0);
    expect(saltPeriod(DAY_MS - 1)).toBe(0);
    expect(saltPeriod(DAY_MS)).toBe(1);
    expect(saltPeriod(noon)).toBe(Math.floor(Date.UTC(2026, 0, 15) / 86_400_000));
    expect(saltPeriod(Date.UTC(2026, 0, 15, 23, 59, 59, 999))).toBe(saltPeriod(Date.UTC(2026, 0, 15)));
  });
});

describe('visitor key', () => {
  it('is the first 32 hex characters of HMAC-SHA-256(salt, site|ip|ua)', async () => {
    const key = await visitorKey(hasher, 'salt-a', 'blog', '203.0.113.7', 'Mozilla/5.0');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).toBe((await hmacHex('salt-a', 'blog|203.0.113.7|Mozilla/5.0')).slice(0, 32));
  });

  it('differs by salt, site, IP and user agent', async () => {
    const reference = await visitorKey(hasher, 's', 'site', '1.2.3.4', 'ua');
    const variants = await Promise.all([
      visitorKey(hasher, 't', 'site', '1.2.3.4', 'ua'),
      visitorKey(hasher, 's', 'other', '1.2.3.4', 'ua'),
      visitorKey(hasher, 's', 'site', '1.2.3.5', 'ua'),
      visitorKey(hasher, 's', 'site', '1.2.3.4', 'ub'),
    ]);
    for (const variant of variants) expect(variant).not.toBe(reference);
  });

  it('first-party keys are HMAC(site, id), prefixed fp_, and stable across days', async () => {
    const key = await firstPartyVisitorKey(hasher, 'blog', 'cookie-id-123');
    expect(key).toBe(`fp_${(await hmacHex('blog', 'cookie-id-123')).slice(0, 32)}`);
    expect(await firstPartyVisitorKey(hasher, 'blog', 'cookie-id-123')).toBe(key);
    expect(await firstPartyVisitorKey(hasher, 'shop', 'cookie-id-123')).not.toBe(key);
  });
});
