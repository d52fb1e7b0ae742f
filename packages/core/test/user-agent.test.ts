import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/config.js';
import { createUaParser } from '../src/normalize/index.js';
import { parseUserAgent } from '../src/normalize/user-agent.js';
import { UA } from './user-agent-fixtures.js';

describe('user-agent parsing (ua-parser-js 1.x)', () => {
  const ua = createUaParser(100);

  it.each([
    ['Chrome on Windows', UA.chromeDesktop, 'desktop', 'Chrome', 'Windows'],
    ['Firefox on Windows', UA.firefoxDesktop, 'desktop', 'Firefox', 'Windows'],
    ['Safari on a Mac', UA.safariMac, 'desktop', 'Safari', 'Mac OS'],
    ['Safari on an iPhone', UA.iphoneSafari, 'mobile', 'Mobile Safari', 'iOS'],
    ['Safari on an iPad', UA.ipad, 'tablet', 'Mobile Safari', 'iOS'],
    ['Chrome on an Android phone', UA.androidPhone, 'mobile', 'Chrome', 'Android'],
    ['Chrome on an Android tablet', UA.androidTablet, 'tablet', 'Chrome', 'Android'],
    ['a smartwatch (wearable → mobile)', UA.galaxyWatch, 'mobile', 'Chrome', 'Android'],
    ['a smart TV (other types → desktop)', UA.smartTv, 'desktop', 'Samsung Internet', 'Tizen'],
  ])('reads %s', (_name, userAgent, device, browser, os) => {
    const parsed = ua.parse(userAgent);
    expect(parsed).toMatchObject({ device, browser, os, headless: false, crawler: false });
  });

  it('gives desktop and nulls for an unknown or empty user agent', () => {
    expect(ua.parse('')).toEqual({
      device: 'desktop',
      browser: null,
      os: null,
      headless: false,
      crawler: false,
    });
    expect(ua.parse(UA.curl)).toMatchObject({ device: 'desktop', browser: null, os: null, crawler: true });
  });

  it('flags headless browsers and automation markers', () => {
    for (const userAgent of [UA.headlessChrome, UA.electron, UA.phantom, `${UA.chromeDesktop} Puppeteer`]) {
      expect(ua.parse(userAgent).headless, userAgent).toBe(true);
    }
    expect(ua.parse(UA.chromeDesktop).headless).toBe(false);
  });

  it('returns the cached result for a repeated user agent', () => {
    const parser = createUaParser(10);
    const first = parser.parse(UA.iphoneSafari);
    expect(parser.parse(UA.iphoneSafari)).toBe(first);
  });

  it('evicts the least recently used entry past its size', () => {
    const parser = createUaParser(2);
    const chrome = parser.parse(UA.chromeDesktop);
    const iphone = parser.parse(UA.iphoneSafari);
    expect(parser.parse(UA.chromeDesktop)).toBe(chrome); // Chrome is now the most recent
    parser.parse(UA.ipad); // evicts the iPhone entry
    expect(parser.parse(UA.chromeDesktop)).toBe(chrome);
    const iphoneAgain = parser.parse(UA.iphoneSafari);
    expect(iphoneAgain).not.toBe(iphone);
    expect(iphoneAgain).toEqual(iphone);
  });

  it('caches nothing with a size of 0 and still parses', () => {
    const parser = createUaParser(0);
    const first = parser.parse(UA.androidPhone);
    expect(first.device).toBe('mobile');
    expect(parser.parse(UA.androidPhone)).not.toBe(first);
  });

  it('parses only the first LIMITS.userAgent characters of a huge user agent', () => {
    const huge = `${UA.chromeDesktop} ${'x'.repeat(20_000)}`;
    const parsed = ua.parse(huge);
    expect(parsed.browser).toBe('Chrome');
    // The truncated key is what is cached: a UA differing only past the limit hits the same entry.
    expect(ua.parse(`${UA.chromeDesktop} ${'x'.repeat(30_000)}`)).toBe(parsed);
    expect(huge.slice(0, LIMITS.userAgent)).not.toBe(huge);
  });

  it('parseUserAgent never hands an empty UA to ua-parser-js (it would read the runtime navigator)', () => {
    expect(parseUserAgent('   ')).toEqual({
      device: 'desktop',
      browser: null,
      os: null,
      headless: false,
      crawler: false,
    });
  });
});
