import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, LIMITS, type TrackerConfig } from '../src/config.js';
import { createUaParser, type NormalizedRequest, normalize } from '../src/normalize/index.js';
import type { RequestInfo } from '../src/types.js';
import { UA } from './user-agent-fixtures.js';

const ua = createUaParser(1_000);
const base: TrackerConfig = { ...DEFAULT_CONFIG };

function request(
  overrides: Partial<RequestInfo> = {},
  headers: Record<string, string | string[]> = {},
): RequestInfo {
  return {
    method: 'GET',
    url: '/',
    status: 200,
    ip: '203.0.113.7',
    headers: {
      accept: 'text/html,application/xhtml+xml',
      'user-agent': UA.chromeDesktop,
      host: 'example.com',
      ...headers,
    },
    ...overrides,
  };
}

function tracked(req: RequestInfo, config: TrackerConfig = base): NormalizedRequest {
  const result = normalize(req, config, ua);
  if (!result.track) throw new Error(`expected the request to be tracked, skipped for "${result.reason}"`);
  return result.request;
}

function skipReason(req: RequestInfo, config: TrackerConfig = base): string | null {
  const result = normalize(req, config, ua);
  return result.track ? null : result.reason;
}

describe('which requests count', () => {
  it('tracks a GET or HEAD navigation, in any case, answered 2xx or 3xx', () => {
    expect(skipReason(request())).toBeNull();
    expect(skipReason(request({ method: 'head' }))).toBeNull();
    expect(skipReason(request({ status: 304 }))).toBeNull();
    expect(skipReason(request({ status: 399 }))).toBeNull();
  });

  it('skips other methods, and honours configured ones', () => {
    expect(skipReason(request({ method: 'POST' }))).toBe('method');
    expect(skipReason(request({ method: 42 as never }))).toBe('method');
    expect(skipReason(request({ method: 'post' }), { ...base, methods: ['get', 'Post'] })).toBeNull();
  });

  it('skips error and informational statuses', () => {
    for (const status of [100, 199, 400, 404, 500, Number.NaN])
      expect(skipReason(request({ status }))).toBe('status');
    expect(skipReason(request({ status: '200' as never }))).toBe('status');
  });

  it('uses Sec-Fetch-Dest first: document and iframe count, anything else does not', () => {
    expect(skipReason(request({}, { 'sec-fetch-dest': 'document', accept: '*/*' }))).toBeNull();
    expect(skipReason(request({}, { 'sec-fetch-dest': 'iframe' }))).toBeNull();
    expect(skipReason(request({}, { 'sec-fetch-dest': 'empty', accept: 'text/html' }))).toBe('not-html');
    expect(skipReason(request({}, { 'sec-fetch-dest': 'image' }))).toBe('not-html');
  });

  it('without Sec-Fetch-Dest, needs an Accept that names HTML', () => {
    expect(skipReason(request({}, { accept: 'application/json' }))).toBe('not-html');
    expect(skipReason(request({}, { accept: '*/*' }))).toBe('not-html');
    expect(skipReason(request({}, { accept: 'application/xhtml+xml' }))).toBeNull();
  });

  it('with neither header, counts any path that is not a static asset', () => {
    const bare = (url: string) => ({
      method: 'GET',
      url,
      status: 200,
      headers: { 'user-agent': UA.chromeDesktop },
    });
    expect(skipReason(bare('/posts/42'))).toBeNull();
    expect(skipReason(bare('/app.js'))).toBe('not-html');
    expect(skipReason(bare('/img/logo.svg?v=3'))).toBe('not-html');
  });

  it('skips prefetches', () => {
    expect(skipReason(request({}, { 'sec-purpose': 'prefetch;prerender' }))).toBe('prefetch');
    expect(skipReason(request({}, { purpose: 'prefetch' }))).toBe('prefetch');
    expect(skipReason(request({}, { 'sec-purpose': 'other' }))).toBeNull();
  });

  it('skips excluded paths: exact entries and prefixes ending in *, on the normalized path', () => {
    expect(skipReason(request({ url: '/favicon.ico' }))).toBe('excluded');
    expect(skipReason(request({ url: '/_anon/e' }))).toBe('excluded');
    expect(skipReason(request({ url: '//_anon//script.js' }), base)).toBe('excluded');
    const config = { ...base, excludePaths: ['/admin/*', '/health/', '/api*', '/u/*/settings'] };
    expect(skipReason(request({ url: '/admin' }), config)).toBe('excluded');
    expect(skipReason(request({ url: '/admin/users/1' }), config)).toBe('excluded');
    expect(skipReason(request({ url: '/health' }), config)).toBe('excluded');
    expect(skipReason(request({ url: '/apis' }), config)).toBe('excluded');
    expect(skipReason(request({ url: '/u/ada/settings' }), config)).toBe('excluded');
    expect(skipReason(request({ url: '/administrator' }), config)).toBeNull();
    expect(skipReason(request({ url: '/u/ada' }), config)).toBeNull();
  });

  it('skips a request whose url is not a string as invalid', () => {
    expect(skipReason(request({ url: undefined as never }))).toBe('invalid');
  });

  it('never throws, even when reading a header throws', () => {
    const headers = {
      get(): string {
        throw new Error('boom');
      },
    };
    expect(normalize(request({ headers }), base, ua)).toEqual({ track: false, reason: 'invalid' });
    expect(normalize(null as never, base, ua)).toEqual({ track: false, reason: 'invalid' });
  });
});

describe('path and url', () => {
  it('normalizes the path: absolute URL, fragment, repeated and trailing slashes, case kept', () => {
    const view = tracked(request({ url: 'https://Example.COM//Posts//42/#comments' }));
    expect(view.path).toBe('/Posts/42');
    expect(view.url).toBe('/Posts/42');
    expect(view.host).toBe('example.com');
  });

  it('takes the route pattern as the path when the binding knows it', () => {
    const view = tracked(request({ url: '/posts/42/?utm_source=hn', route: '/posts/:id/' }));
    expect(view.path).toBe('/posts/:id');
    expect(view.url).toBe('/posts/42?utm_source=hn');
    expect(tracked(request({ url: '/posts/42', route: '' })).path).toBe('/posts/42');
  });

  it('keeps only utm_*, ref and allowlisted query keys, sorted by key', () => {
    const view = tracked(
      request({ url: '/search?q=shoes&utm_medium=social&page=2&ref=nav&utm_source=hn&x=1' }),
      { ...base, queryAllowlist: ['Q', 'page'] },
    );
    expect(view.url).toBe('/search?page=2&q=shoes&ref=nav&utm_medium=social&utm_source=hn');
  });

  it('always drops secret-looking keys, whatever the allowlist says', () => {
    const secrets = [
      'token',
      'access_token',
      'code',
      'state',
      'password',
      'api_key',
      'apiKey',
      'email',
      'sessionid',
      'sig',
      'otp',
      'key',
      'auth',
      'jwt',
      'client_secret',
      'user_email',
    ];
    const url = `/cb?${secrets.map((key) => `${key}=s3cret`).join('&')}&utm_token=x&ref=ok`;
    const view = tracked(request({ url }), { ...base, queryAllowlist: secrets });
    expect(view.url).toBe('/cb?ref=ok');
    expect(view.url).not.toContain('s3cret');
  });

  it('re-encodes kept values so equivalent queries give one url', () => {
    const a = tracked(request({ url: '/?utm_campaign=spring+sale' }));
    const b = tracked(request({ url: '/?utm_campaign=spring%20sale' }));
    expect(a.url).toBe('/?utm_campaign=spring%20sale');
    expect(b.url).toBe(a.url);
    expect(tracked(request({ url: '/?ref' })).url).toBe('/?ref');
    expect(tracked(request({ url: '/?ref=%E0%A4%A' })).url).toBe('/?ref=%25E0%25A4%25A');
    // A lone surrogate cannot be percent-encoded: it is kept as U+FFFD instead of failing the request.
    expect(tracked(request({ url: '/?ref=a\ud800b' })).url).toBe('/?ref=a%EF%BF%BDb');
  });

  it('reads the UTM fields decoded, trimmed, truncated to 100, empty → null', () => {
    const view = tracked(
      request({
        url: `/?utm_source=%20Hacker%20News%20&utm_medium=&utm_campaign=${'c'.repeat(150)}&utm_term=shoes&utm_content=+`,
      }),
    );
    expect(view.utmSource).toBe('Hacker News');
    expect(view.utmMedium).toBeNull();
    expect(view.utmCampaign).toBe('c'.repeat(LIMITS.utm));
    expect(view.utmTerm).toBe('shoes');
    expect(view.utmContent).toBeNull();
  });

  it('truncates path and url to 500 characters', () => {
    const long = `/${'a'.repeat(1_000)}`;
    const view = tracked(request({ url: `${long}?utm_source=x` }));
    expect(view.path).toHaveLength(LIMITS.path);
    expect(view.url).toHaveLength(LIMITS.url);
    const route = tracked(request({ url: '/x', route: long }));
    expect(route.path).toHaveLength(LIMITS.path);
  });

  it('does not leave a half percent-escape at the end of a truncated url', () => {
    const path = `/${'a'.repeat(LIMITS.url - 8)}`; // 493 characters
    const view = tracked(request({ url: `${path}?ref=%C3%A9%C3%A9` }));
    expect(view.url.length).toBeLessThanOrEqual(LIMITS.url);
    expect(view.url).toMatch(/(%[0-9A-F]{2}|[^%0-9A-F])$/);
    expect(view.url).not.toMatch(/%[0-9A-F]?$/);
  });
});

describe('referrer', () => {
  it('keeps origin and path of an external referrer, and its host without www.', () => {
    const view = tracked(request({}, { referer: 'https://WWW.Google.com/search?q=secret#x' }));
    expect(view.referrer).toBe('https://www.google.com/search');
    expect(view.referrerHost).toBe('google.com');
    const bare = tracked(request({}, { referer: 'https://news.ycombinator.com' }));
    expect(bare.referrer).toBe('https://news.ycombinator.com/');
    expect(bare.referrerHost).toBe('news.ycombinator.com');
  });

  it('drops credentials from a referrer', () => {
    const view = tracked(request({}, { referer: 'https://user:pass@blog.example.org/post' }));
    expect(view.referrer).toBe('https://blog.example.org/post');
  });

  it('treats a referrer from the same host as internal: both null', () => {
    for (const referer of [
      'https://example.com/other',
      'http://www.example.com:8080/x',
      'https://EXAMPLE.com',
    ]) {
      const view = tracked(request({}, { referer }));
      expect(view.referrer, referer).toBeNull();
      expect(view.referrerHost).toBeNull();
    }
    const byUrl = tracked(
      request({ url: 'https://shop.example.net/cart', headers: { referer: 'https://shop.example.net/' } }),
    );
    expect(byUrl.referrer).toBeNull();
  });

  it('gives null for a missing or unparsable referrer', () => {
    for (const referer of [
      '',
      'not a url',
      '/relative/path',
      'https://',
      'https://bad host/x',
      'https://a\\b/',
    ]) {
      const view = tracked(request({}, { referer }));
      expect(view.referrer, referer).toBeNull();
      expect(view.referrerHost).toBeNull();
    }
  });

  it('truncates a long referrer to 500 characters', () => {
    const view = tracked(request({}, { referer: `https://other.org/${'p'.repeat(1_000)}` }));
    expect(view.referrer).toHaveLength(LIMITS.referrer);
  });
});

describe('device, IP and app fields', () => {
  it('carries the parsed device, browser and OS', () => {
    expect(tracked(request({}, { 'user-agent': UA.iphoneSafari }))).toMatchObject({
      device: 'mobile',
      browser: 'Mobile Safari',
      os: 'iOS',
    });
    expect(tracked(request({}, { 'user-agent': UA.ipad })).device).toBe('tablet');
  });

  it('truncates the user agent to 500 before use', () => {
    const view = tracked(request({}, { 'user-agent': `${UA.chromeDesktop}${'z'.repeat(20_000)}` }));
    expect(view.userAgent).toHaveLength(LIMITS.userAgent);
    expect(view.browser).toBe('Chrome');
  });

  it('applies the IP mode', () => {
    expect(tracked(request({ ip: '::ffff:203.0.113.7' }))).toMatchObject({ rawIp: '203.0.113.7', ip: null });
    expect(tracked(request(), { ...base, ipMode: 'truncate' }).ip).toBe('203.0.113.0');
    expect(tracked(request(), { ...base, ipMode: 'full' }).ip).toBe('203.0.113.7');
    expect(tracked(request({ ip: undefined })).rawIp).toBe('');
  });

  it('truncates userId, scope and pageType, and turns empty ones into null', () => {
    const view = tracked(
      request({ userId: 'u'.repeat(300), scope: 's'.repeat(300), pageType: 'p'.repeat(80) }),
    );
    expect(view.userId).toHaveLength(LIMITS.userId);
    expect(view.scope).toHaveLength(LIMITS.scope);
    expect(view.pageType).toHaveLength(LIMITS.pageType);
    const empty = tracked(request({ userId: '', scope: '', pageType: '' }));
    expect([empty.userId, empty.scope, empty.pageType]).toEqual([null, null, null]);
    expect(tracked(request({ userId: 42 as never })).userId).toBe('42');
    expect(tracked(request({ userId: { id: 1 } as never })).userId).toBeNull();
  });

  it('leaves geo to the engine', () => {
    expect(tracked(request())).toMatchObject({ country: null, city: null });
  });
});

describe('Do Not Track and Global Privacy Control', () => {
  it('counts a signalled request as aggregate-only by default', () => {
    expect(tracked(request({}, { dnt: '1' })).privacy).toBe('aggregate');
    expect(tracked(request({}, { 'sec-gpc': '1' })).privacy).toBe('aggregate');
    expect(tracked(request({}, { dnt: '0' })).privacy).toBe('full');
    expect(tracked(request()).privacy).toBe('full');
  });

  it('skips it with doNotTrack: skip, and ignores it with ignore-signal', () => {
    expect(skipReason(request({}, { 'sec-gpc': '1' }), { ...base, doNotTrack: 'skip' })).toBe('dnt');
    expect(tracked(request({}, { dnt: '1' }), { ...base, doNotTrack: 'ignore-signal' }).privacy).toBe('full');
  });
});

describe('header sources', () => {
  it('reads a Fetch Headers object', () => {
    const headers = new Headers({
      Accept: 'text/html',
      'User-Agent': UA.androidPhone,
      Host: 'Example.com',
      Referer: 'https://t.co/abc',
      DNT: '1',
    });
    const view = tracked(request({ headers }));
    expect(view).toMatchObject({
      device: 'mobile',
      host: 'example.com',
      referrerHost: 't.co',
      privacy: 'aggregate',
    });
  });

  it('reads repeated Node headers as one folded value', () => {
    const view = tracked(request({}, { accept: ['application/json', 'text/html'] }));
    expect(view.path).toBe('/');
    expect(skipReason(request({}, { accept: [] }))).toBeNull();
  });

  it('treats a missing header bag as no headers', () => {
    const view = tracked({ method: 'GET', url: '/a', status: 200, headers: undefined as never });
    expect(view.bot.reasons).toEqual(['empty-user-agent']);
  });
});
