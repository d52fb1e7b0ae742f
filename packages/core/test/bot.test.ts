import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TrackerConfig } from '../src/config.js';
import { botVerdict } from '../src/normalize/bot.js';
import { createUaParser, normalize, type UaParser } from '../src/normalize/index.js';
import { UA } from './user-agent-fixtures.js';

const config: TrackerConfig = { ...DEFAULT_CONFIG };
const parser = createUaParser(100);

function verdict(userAgent: string | undefined, ua: UaParser = parser) {
  const headers: Record<string, string> = { accept: 'text/html' };
  if (userAgent !== undefined) headers['user-agent'] = userAgent;
  const result = normalize({ method: 'GET', url: '/', headers, status: 200 }, config, ua);
  if (!result.track) throw new Error(`not tracked: ${result.reason}`);
  return result.request.bot;
}

describe('bot verdict', () => {
  it.each([
    ['Googlebot', UA.googlebot],
    ['bingbot', UA.bingbot],
    ['curl', UA.curl],
  ])('flags %s by its user agent (isbot)', (_name, userAgent) => {
    expect(verdict(userAgent)).toEqual({ isBot: true, reasons: ['user-agent'] });
  });

  it('flags a missing or blank user agent', () => {
    expect(verdict(undefined)).toEqual({ isBot: true, reasons: ['empty-user-agent'] });
    expect(verdict('  ')).toEqual({ isBot: true, reasons: ['empty-user-agent'] });
  });

  it('flags headless browsers, with isbot agreeing where its list knows them', () => {
    expect(verdict(UA.headlessChrome)).toEqual({ isBot: true, reasons: ['user-agent', 'headless'] });
    expect(verdict(UA.electron).reasons).toContain('headless');
  });

  it.each([
    ['Chrome desktop', UA.chromeDesktop],
    ['iPhone Safari', UA.iphoneSafari],
    ['iPad', UA.ipad],
    ['Android phone', UA.androidPhone],
    ['Android tablet', UA.androidTablet],
  ])('lets %s through', (_name, userAgent) => {
    expect(verdict(userAgent)).toEqual({ isBot: false, reasons: [] });
  });

  it('asks isbot itself when a custom parser gives no crawler verdict', () => {
    const custom: UaParser = {
      parse: () => ({ device: 'desktop', browser: null, os: null, headless: false }),
    };
    expect(verdict(UA.googlebot, custom)).toEqual({ isBot: true, reasons: ['user-agent'] });
    expect(verdict(UA.chromeDesktop, custom).isBot).toBe(false);
  });

  it('botVerdict lists every reason that applies', () => {
    expect(botVerdict('', true, true)).toEqual({
      isBot: true,
      reasons: ['empty-user-agent', 'user-agent', 'headless'],
    });
    expect(botVerdict('x', false, false)).toEqual({ isBot: false, reasons: [] });
  });
});
