import { describe, expect, it } from 'vitest';
import { formatIpv6, ipFields, parseIp } from '../src/normalize/ip.js';

describe('IP handling', () => {
  it('drop (the default) keeps nothing to store but the raw IP for the visitor key', () => {
    expect(ipFields('203.0.113.7', 'drop')).toEqual({ rawIp: '203.0.113.7', ip: null });
    expect(ipFields('2001:db8:1:2::7', 'drop')).toEqual({ rawIp: '2001:db8:1:2::7', ip: null });
  });

  it('truncate keeps IPv4 /24 and IPv6 /48', () => {
    expect(ipFields('203.0.113.7', 'truncate').ip).toBe('203.0.113.0');
    expect(ipFields('2001:db8:1:2:3:4:5:6', 'truncate').ip).toBe('2001:db8:1::');
    expect(ipFields('2001:0DB8:0000:ffff::1', 'truncate').ip).toBe('2001:db8::');
    expect(ipFields('::1', 'truncate').ip).toBe('::');
  });

  it('full keeps the normalized address', () => {
    expect(ipFields('203.0.113.7', 'full').ip).toBe('203.0.113.7');
    expect(ipFields('2001:0DB8:0000:0000:0000:0000:0000:0001', 'full').ip).toBe('2001:db8::1');
    expect(ipFields('[2001:db8::1]', 'full').ip).toBe('2001:db8::1');
    expect(ipFields('fe80::1%eth0', 'full').ip).toBe('fe80::1');
  });

  it('reduces IPv4-mapped IPv6 to IPv4, in rawIp too', () => {
    expect(ipFields('::ffff:198.51.100.9', 'full')).toEqual({ rawIp: '198.51.100.9', ip: '198.51.100.9' });
    expect(ipFields('::FFFF:c633:6409', 'truncate')).toEqual({ rawIp: '198.51.100.9', ip: '198.51.100.0' });
  });

  it('gives null for an invalid IP and keeps rawIp as received, truncated to 100', () => {
    expect(ipFields('not-an-ip', 'full')).toEqual({ rawIp: 'not-an-ip', ip: null });
    expect(ipFields('256.1.1.1', 'truncate').ip).toBeNull();
    const long = 'x'.repeat(500);
    expect(ipFields(long, 'full')).toEqual({ rawIp: 'x'.repeat(100), ip: null });
  });

  it('gives an empty rawIp for a missing IP', () => {
    expect(ipFields(undefined, 'full')).toEqual({ rawIp: '', ip: null });
    expect(ipFields(null, 'full')).toEqual({ rawIp: '', ip: null });
    expect(ipFields('  ', 'full')).toEqual({ rawIp: '', ip: null });
  });

  it('stores nothing for a mode it does not know', () => {
    expect(ipFields('203.0.113.7', 'bogus' as never).ip).toBeNull();
  });

  it.each([
    '1.2.3',
    '1.2.3.4.5',
    '01234.1.1.1',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '1:2:3:4:5:6:7::8',
    'g::1',
    '[::1',
    '::ffff:1.2.3.256',
    '1:2:3:4:5:6:7',
  ])('rejects %s', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('formats IPv6 per RFC 5952', () => {
    expect(formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6([1, 2, 3, 4, 5, 6, 7, 8])).toBe('1:2:3:4:5:6:7:8');
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(parseIp('::2:3:4:5:6:7:8')).toEqual({ version: 6, groups: [0, 2, 3, 4, 5, 6, 7, 8] });
    expect(parseIp('1:2:3:4:5:6:1.2.3.4')).toEqual({ version: 6, groups: [1, 2, 3, 4, 5, 6, 0x102, 0x304] });
  });
});
