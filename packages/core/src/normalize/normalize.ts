import { LIMITS, type TrackerConfig } from '../config.js';
import type { RequestInfo } from '../types.js';
import { botVerdict, isCrawler } from './bot.js';
import { derive } from './derived.js';
import { headerValue } from './headers.js';
import { ipFields } from './ip.js';
import { hasPrivacySignal, isHtmlNavigation, isPrefetch } from './navigation.js';
import { normalizePath, redactPathSecrets, splitTarget } from './path.js';
import { filterQuery } from './query.js';
import { HOST_MAX, referrerFields } from './referrer.js';
import { optionalText, truncate } from './truncate.js';
import type { NormalizedRequest, NormalizeResult, SkipReason } from './types.js';
import type { UaParser } from './user-agent.js';

const SKIPS = new Map<SkipReason, NormalizeResult>(
  (['method', 'status', 'not-html', 'excluded', 'dnt', 'prefetch', 'invalid'] as const).map((reason) => [
    reason,
    Object.freeze({ track: false, reason }),
  ]),
);

function skip(reason: SkipReason): NormalizeResult {
  return SKIPS.get(reason)!;
}

/** Truncate a url, then drop a percent-escape the cut left incomplete (`…%E2%8`). */
function truncateUrl(url: string): string {
  const cut = truncate(url, LIMITS.url);
  return cut.length === url.length ? cut : cut.replace(/%[0-9a-f]?$/i, '');
}

function hostHeader(value: string | null): string | null {
  if (value === null) return null;
  const host = value.trim().toLowerCase();
  return host === '' ? null : truncate(host, HOST_MAX);
}

/**
 * What `screen` keeps of a request it lets through: the parts `finish` needs, so the batch does not split the
 * URL again. Held for a few milliseconds between `track()` and the batch.
 */
export interface Screened {
  /** The normalized path (route pattern not applied yet). */
  fullPath: string;
  /** Host of an absolute request URL, lower-cased; null for a plain path. */
  urlHost: string | null;
  /** The raw query string, filtered later. */
  query: string;
  privacy: 'full' | 'aggregate';
}

function decideScreen(req: RequestInfo, config: TrackerConfig): Screened | SkipReason {
  const derived = derive(config);
  if (typeof req.method !== 'string' || !derived.methods.has(req.method.toUpperCase())) return 'method';
  if (typeof req.status !== 'number' || !(req.status >= 200 && req.status <= 399)) return 'status';
  if (typeof req.url !== 'string') return 'invalid';
  const headers = req.headers ?? {};
  if (isPrefetch(headers)) return 'prefetch';

  const target = splitTarget(req.url);
  const fullPath = normalizePath(target.rawPath);
  if (!isHtmlNavigation(headers, fullPath)) return 'not-html';
  if (derived.isExcluded(fullPath)) return 'excluded';

  let privacy: 'full' | 'aggregate' = 'full';
  if (config.doNotTrack !== 'ignore-signal' && hasPrivacySignal(headers)) {
    if (config.doNotTrack === 'skip') return 'dnt';
    // 'aggregate', and any unknown mode: counting without a visitor is the safe reading of the signal.
    privacy = 'aggregate';
  }
  return { fullPath, urlHost: target.host, query: target.query, privacy };
}

function decideFinish(
  req: RequestInfo,
  config: TrackerConfig,
  ua: UaParser,
  screened: Screened,
): NormalizedRequest {
  const derived = derive(config);
  const headers = req.headers ?? {};
  const fullPath = redactPathSecrets(screened.fullPath);
  const route = typeof req.route === 'string' && req.route.trim() !== '' ? normalizePath(req.route) : null;
  const query = filterQuery(screened.query, derived.queryAllowlist);
  const headerHost = hostHeader(headerValue(headers, 'host'));
  const urlHost = screened.urlHost === null ? null : truncate(screened.urlHost, HOST_MAX);
  const source = referrerFields(headerValue(headers, 'referer'), [headerHost, urlHost]);

  const userAgent = truncate(headerValue(headers, 'user-agent') ?? '', LIMITS.userAgent);
  const parsed = ua.parse(userAgent);
  const bot = botVerdict(userAgent, parsed.crawler ?? isCrawler(userAgent), parsed.headless);
  const { rawIp, ip } = ipFields(req.ip, config.ipMode);

  return {
    privacy: screened.privacy,
    path: truncate(route ?? fullPath, LIMITS.path),
    fromRoute: route !== null,
    url: truncateUrl(query.query === '' ? fullPath : `${fullPath}?${query.query}`),
    pageType: optionalText(req.pageType, LIMITS.pageType),
    scope: optionalText(req.scope, LIMITS.scope),
    userId: optionalText(req.userId, LIMITS.userId),
    userAgent,
    rawIp,
    ip,
    host: urlHost ?? headerHost,
    bot,
    referrer: source.referrer,
    referrerHost: source.referrerHost,
    utmSource: query.utmSource,
    utmMedium: query.utmMedium,
    utmCampaign: query.utmCampaign,
    utmTerm: query.utmTerm,
    utmContent: query.utmContent,
    device: parsed.device,
    browser: parsed.browser === null ? null : truncate(parsed.browser, LIMITS.browser),
    os: parsed.os === null ? null : truncate(parsed.os, LIMITS.os),
    // Geo is resolved by the engine through a configured resolver, before the IP is dropped.
    country: null,
    city: null,
  };
}

/**
 * The cheap half of `normalize`, for the request path: the decisions that say whether a request counts
 * (method, status, prefetch, HTML navigation, exclusions, DNT), and the URL split `finish` reuses. Never
 * throws: anything unexpected gives `'invalid'`.
 */
export function screen(req: RequestInfo, config: TrackerConfig): Screened | SkipReason {
  try {
    return decideScreen(req, config);
  } catch {
    return 'invalid';
  }
}

/**
 * The costly half of `normalize`, run in the batch: query allowlist, referrer, user agent, bot verdict, IP
 * mode, truncation. Returns null for a request that turns out unreadable (a header getter that throws).
 */
export function finish(
  req: RequestInfo,
  config: TrackerConfig,
  ua: UaParser,
  screened: Screened,
): NormalizedRequest | null {
  try {
    return decideFinish(req, config, ua, screened);
  } catch {
    return null;
  }
}

/**
 * Decide whether a request counts and reduce it to what may be kept (DESIGN §4). Never throws: anything
 * unexpected in the request gives `{ track: false, reason: 'invalid' }`.
 * @example const result = normalize(req, config, createUaParser(config.uaCacheSize));
 */
export function normalize(req: RequestInfo, config: TrackerConfig, ua: UaParser): NormalizeResult {
  const screened = screen(req, config);
  if (typeof screened === 'string') return skip(screened);
  const request = finish(req, config, ua, screened);
  return request === null ? skip('invalid') : { track: true, request };
}
