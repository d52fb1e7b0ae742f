import type { BotReason, DeviceType } from '@anon/core';
import type { Random } from './random.js';

/** A real user agent and the device fields the generator labels it with (close to ua-parser-js 1.x names). */
export interface AgentProfile {
  userAgent: string;
  device: DeviceType;
  browser: string | null;
  os: string | null;
  /** Why a crawler is a bot; empty for browsers. */
  botReasons: BotReason[];
}

/** Browsers people use: desktop, mobile and tablet. */
export const BROWSER_AGENTS: readonly AgentProfile[] = [
  {
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    device: 'desktop',
    browser: 'Chrome',
    os: 'Windows',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    device: 'desktop',
    browser: 'Safari',
    os: 'Mac OS',
    botReasons: [],
  },
  {
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    device: 'desktop',
    browser: 'Edge',
    os: 'Windows',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
    device: 'mobile',
    browser: 'Chrome',
    os: 'Android',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    device: 'mobile',
    browser: 'Mobile Safari',
    os: 'iOS',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
    device: 'mobile',
    browser: 'Samsung Internet',
    os: 'Android',
    botReasons: [],
  },
  {
    userAgent:
      'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
    device: 'tablet',
    browser: 'Mobile Safari',
    os: 'iOS',
    botReasons: [],
  },
];

/** Crawlers and scripted clients: every one is a bot by its user agent. */
export const CRAWLER_AGENTS: readonly AgentProfile[] = [
  {
    userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    device: 'desktop',
    browser: null,
    os: null,
    botReasons: ['user-agent'],
  },
  {
    userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    device: 'desktop',
    browser: null,
    os: null,
    botReasons: ['user-agent'],
  },
  {
    userAgent: 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    device: 'desktop',
    browser: null,
    os: null,
    botReasons: ['user-agent'],
  },
  { userAgent: 'curl/8.5.0', device: 'desktop', browser: 'curl', os: null, botReasons: ['user-agent'] },
  {
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
    device: 'desktop',
    browser: 'Chrome Headless',
    os: 'Linux',
    botReasons: ['user-agent', 'headless'],
  },
];

/** A route of the imaginary site: its pattern (the aggregation key) and how to make a concrete URL path. */
export interface RouteSpec {
  route: string;
  pageType: string | null;
  /** Relative popularity as a landing or next page. */
  weight: number;
  concrete(random: Random): { path: string; scope: string | null };
}

const COMMUNITIES = ['montreal', 'paris', 'lisbon', 'tokyo', 'nairobi'] as const;
const USERS = ['ada', 'grace', 'linus', 'margaret', 'ken'] as const;
const DOC_SECTIONS = ['getting-started', 'stores', 'bindings', 'privacy'] as const;
const SEARCHES = ['redis', 'postgres session', 'bots', 'utm'] as const;

const fixed = (path: string) => () => ({ path, scope: null });

/** Pages of a community site with a blog and docs; route patterns keep aggregates from exploding on ids. */
export const ROUTES: readonly RouteSpec[] = [
  { route: '/', pageType: 'home', weight: 8, concrete: fixed('/') },
  { route: '/about', pageType: null, weight: 2, concrete: fixed('/about') },
  { route: '/pricing', pageType: 'pricing', weight: 3, concrete: fixed('/pricing') },
  { route: '/blog', pageType: null, weight: 3, concrete: fixed('/blog') },
  {
    route: '/posts/:id',
    pageType: 'post',
    weight: 10,
    concrete: (r) => ({ path: `/posts/${r.int(1, 400)}`, scope: null }),
  },
  {
    route: '/communities/:slug',
    pageType: 'community',
    weight: 5,
    concrete: (r) => {
      const slug = r.pick(COMMUNITIES);
      return { path: `/communities/${slug}`, scope: `community:${slug}` };
    },
  },
  {
    route: '/users/:name',
    pageType: 'profile',
    weight: 2,
    concrete: (r) => ({ path: `/users/${r.pick(USERS)}`, scope: null }),
  },
  {
    route: '/docs/:section',
    pageType: 'docs',
    weight: 4,
    concrete: (r) => ({ path: `/docs/${r.pick(DOC_SECTIONS)}`, scope: null }),
  },
  {
    route: '/search',
    pageType: 'search',
    weight: 1,
    // The query is not in the allowlist: the tracker strips it, the raw request keeps it.
    concrete: (r) => ({ path: `/search?q=${encodeURIComponent(r.pick(SEARCHES))}`, scope: null }),
  },
  { route: '/login', pageType: null, weight: 1, concrete: fixed('/login') },
];

/** The sign-up page: visited by visitors who create an account. */
export const SIGNUP_ROUTE: RouteSpec = {
  route: '/signup',
  pageType: 'signup',
  weight: 0,
  concrete: fixed('/signup'),
};

/** A route picked by weight. */
export function pickRoute(random: Random): RouteSpec {
  const total = ROUTES.reduce((sum, r) => sum + r.weight, 0);
  let roll = random.int(1, total);
  for (const route of ROUTES) {
    roll -= route.weight;
    if (roll <= 0) return route;
  }
  return ROUTES[0] as RouteSpec;
}

/** An external referrer as stored (origin + path, no query). */
export interface ReferrerSpec {
  referrer: string;
  referrerHost: string;
}

export const REFERRERS: readonly ReferrerSpec[] = [
  { referrer: 'https://www.google.com/', referrerHost: 'www.google.com' },
  { referrer: 'https://news.ycombinator.com/item', referrerHost: 'news.ycombinator.com' },
  { referrer: 'https://t.co/x7Qe2', referrerHost: 't.co' },
  { referrer: 'https://www.reddit.com/r/node/', referrerHost: 'www.reddit.com' },
  { referrer: 'https://duckduckgo.com/', referrerHost: 'duckduckgo.com' },
  { referrer: 'https://github.com/anon/anon', referrerHost: 'github.com' },
];

/** UTM tags of a campaign link. */
export interface CampaignSpec {
  utmSource: string;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
}

export const CAMPAIGNS: readonly CampaignSpec[] = [
  {
    utmSource: 'newsletter',
    utmMedium: 'email',
    utmCampaign: 'jan-launch',
    utmTerm: null,
    utmContent: 'header',
  },
  { utmSource: 'twitter', utmMedium: 'social', utmCampaign: 'launch', utmTerm: null, utmContent: null },
  {
    utmSource: 'google',
    utmMedium: 'cpc',
    utmCampaign: 'brand',
    utmTerm: 'privacy analytics',
    utmContent: null,
  },
  { utmSource: 'partner', utmMedium: null, utmCampaign: null, utmTerm: null, utmContent: null },
];

/** Countries a configured geo resolver could return; null when there is none. */
export const COUNTRIES: readonly (string | null)[] = ['CA', 'US', 'FR', 'DE', 'BR', 'JP', null];
