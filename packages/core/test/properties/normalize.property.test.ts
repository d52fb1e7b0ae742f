import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, LIMITS, type TrackerConfig } from '../../src/config.js';
import { createUaParser, normalize } from '../../src/normalize/index.js';
import { normalizePath } from '../../src/normalize/path.js';
import { isSecretKey } from '../../src/normalize/query.js';
import { HOST_MAX } from '../../src/normalize/referrer.js';
import type { HeaderSource, RequestInfo } from '../../src/types.js';
import { UA } from '../user-agent-fixtures.js';

/** Any code points; `size` lets a string reach its `maxLength` (fast-check keeps strings short by default). */
const text = (maxLength: number, size: fc.SizeForArbitrary = 'small') =>
  fc.string({ unit: 'binary', maxLength, size });
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', '.', 'posts', '42'),
);
const queryKey = fc.oneof(
  fc.constantFrom('utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'ref', 'q', 'page'),
  fc.constantFrom(
    'token',
    'access_token',
    'code',
    'state',
    'email',
    'password',
    'api_key',
    'key',
    'SessionID',
  ),
  text(10),
);
const queryValue = fc.oneof(
  text(150, 'max'),
  fc.constantFrom('', '%', '%E0%A4%A', '+', 'a+b', '%F0%9F%98%80'),
);
/** URL-shaped strings (so most generated requests get past the early checks), and raw noise. */
const url = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('', 'https://Example.com', 'http://user:pw@host:8080', 'HTTPS://'),
      fc.array(segment, { maxLength: 60 }),
      fc.array(fc.tuple(queryKey, queryValue), { maxLength: 12 }),
      fc.option(text(20)),
    )
    .map(
      ([origin, segments, pairs, fragment]) =>
        `${origin}/${segments.join('/')}${pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}${fragment === null ? '' : `#${fragment}`}`,
    ),
  text(3_000, 'max'),
);
const userAgent = fc.oneof(fc.constantFrom(...Object.values(UA), ''), text(20_000, 'max'), text(600, 'max'));
const ip = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((v4) => `::ffff:${v4}`),
  text(300, 'max'),
  fc.constant(undefined),
);
const headerValue = fc.oneof(text(700, 'max'), fc.array(text(100), { maxLength: 3 }));
const headers = fc
  .record(
    {
      accept: fc.oneof(
        { arbitrary: fc.constantFrom('text/html', 'application/xhtml+xml;q=0.9'), weight: 6 },
        { arbitrary: fc.constantFrom('*/*', 'application/json'), weight: 1 },
        { arbitrary: text(100), weight: 1 },
      ),
      'sec-fetch-dest': fc.constantFrom('document', 'document', 'document', 'iframe', 'image', 'empty'),
      'user-agent': userAgent,
      host: fc.oneof(fc.constantFrom('example.com', 'EXAMPLE.com:3000'), text(1_000, 'max')),
      referer: fc.oneof(
        fc.constantFrom(
          'https://www.google.com/search?q=x',
          'https://example.com/in',
          'android-app://com.x/',
        ),
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        text(3_000, 'max'),
      ),
      dnt: fc.constantFrom('1', '0'),
      'sec-gpc': fc.oneof(fc.constant('1'), text(3)),
      'sec-purpose': fc.oneof(
        { arbitrary: fc.constant('prefetch'), weight: 1 },
        { arbitrary: text(20), weight: 5 },
      ),
      'x-other': headerValue,
    },
    { requiredKeys: [] },
  )
  .chain((record) =>
    fc.boolean().map((asFetch): HeaderSource => {
      if (!asFetch) return record as Record<string, string>;
      return { get: (name: string) => (record as Record<string, unknown>)[name] as string | undefined };
    }),
  );
const request: fc.Arbitrary<RequestInfo> = fc.record({
  method: fc.oneof(
    { arbitrary: fc.constantFrom('GET', 'get', 'HEAD'), weight: 8 },
    { arbitrary: fc.oneof(fc.constant('POST'), text(10)), weight: 1 },
  ),
  url,
  headers,
  ip,
  status: fc.oneof(
    { arbitrary: fc.constantFrom(200, 301, 304), weight: 8 },
    { arbitrary: fc.integer({ min: -1, max: 1_000 }), weight: 1 },
  ),
  route: fc.option(fc.oneof(fc.constantFrom('/posts/:id', '/posts/:id/'), text(1_000, 'max'))),
  userId: fc.option(text(400, 'max')),
  scope: fc.option(text(400, 'max')),
  pageType: fc.option(text(100, 'max')),
});
const config: fc.Arbitrary<TrackerConfig> = fc
  .record({
    ipMode: fc.constantFrom('drop', 'truncate', 'full'),
    doNotTrack: fc.constantFrom('aggregate', 'skip', 'ignore-signal'),
    queryAllowlist: fc.array(fc.oneof(queryKey, text(10)), { maxLength: 5 }),
    excludePaths: fc.array(fc.oneof(fc.constantFrom('/admin/*', '/posts', '/*/x'), text(10)), {
      maxLength: 3,
    }),
  })
  .map((overrides) => ({ ...DEFAULT_CONFIG, ...overrides }));

const ua = createUaParser(50);

/** True when the string ends with the first half of a surrogate pair (a pair split by truncation). */
function endsSplit(value: string): boolean {
  const last = value.charCodeAt(value.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

describe('normalize properties', () => {
  it('normalize never throws on arbitrary strings and its output respects every length limit', () => {
    fc.assert(
      fc.property(request, config, (req, cfg) => {
        const result = normalize(req, cfg, ua);
        if (!result.track) {
          expect(['method', 'status', 'not-html', 'excluded', 'dnt', 'prefetch', 'invalid']).toContain(
            result.reason,
          );
          return;
        }
        const r = result.request;
        const limits: [string | null, number][] = [
          [r.path, LIMITS.path],
          [r.url, LIMITS.url],
          [r.referrer, LIMITS.referrer],
          [r.referrerHost, HOST_MAX],
          [r.userAgent, LIMITS.userAgent],
          [r.utmSource, LIMITS.utm],
          [r.utmMedium, LIMITS.utm],
          [r.utmCampaign, LIMITS.utm],
          [r.utmTerm, LIMITS.utm],
          [r.utmContent, LIMITS.utm],
          [r.browser, LIMITS.browser],
          [r.os, LIMITS.os],
          [r.userId, LIMITS.userId],
          [r.scope, LIMITS.scope],
          [r.pageType, LIMITS.pageType],
          [r.rawIp, 100],
          [r.ip, 39],
          [r.host, HOST_MAX],
        ];
        for (const [value, max] of limits) {
          if (value === null) continue;
          expect(typeof value).toBe('string');
          expect(value.length).toBeLessThanOrEqual(max);
          expect(endsSplit(value)).toBe(false);
        }
        expect(r.path.startsWith('/')).toBe(true);
        expect(r.url.startsWith('/')).toBe(true);
        expect(['mobile', 'tablet', 'desktop']).toContain(r.device);
        expect(['full', 'aggregate']).toContain(r.privacy);
        expect(r.bot.isBot).toBe(r.bot.reasons.length > 0);
        expect(r.country).toBeNull();
        expect(r.city).toBeNull();
        if (cfg.ipMode === 'drop') expect(r.ip).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('no secret-looking query key ever reaches the url, whatever the allowlist', () => {
    fc.assert(
      fc.property(request, config, (req, cfg) => {
        const result = normalize(req, cfg, ua);
        if (!result.track) return;
        const question = result.request.url.indexOf('?');
        if (question === -1) return;
        for (const pair of result.request.url.slice(question + 1).split('&')) {
          const key = pair.split('=')[0]!;
          let decoded = key;
          try {
            decoded = decodeURIComponent(key);
          } catch {
            // a truncated escape at the very end: compare the raw key
          }
          expect(isSecretKey(decoded), decoded).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('path normalization is idempotent: a normalized path normalizes to itself', () => {
    fc.assert(
      fc.property(url, (raw) => {
        const once = normalizePath(raw);
        expect(normalizePath(once)).toBe(once);
        expect(once).not.toMatch(/\/\//);
        expect(once === '/' || !once.endsWith('/')).toBe(true);
      }),
    );
  });
});
