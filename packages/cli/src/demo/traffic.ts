import { between, pick, popular, seededRandom } from './random.js';

/** One simulated HTTP request of the demo, at simulated time `at`. */
export interface DemoRequest {
  at: number;
  visitor: number;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** POST /signup body. */
  body?: string;
  /** Send an engagement beacon for this page before the visitor's next request. */
  engage?: { ms: number; scroll: number };
}

export interface TrafficOptions {
  visitors: number;
  durationMs: number;
  seed: number;
  start: number;
}

export const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
];

export const CRAWLERS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  'curl/8.5.0',
];

const POSTS = Array.from({ length: 40 }, (_, i) => `/posts/${i + 1}`);
const COMMUNITIES = [
  '/communities/montreal',
  '/communities/paris',
  '/communities/berlin',
  '/communities/lagos',
];
const SOURCES: { referer?: string; query?: string; weight: number }[] = [
  { weight: 30 },
  { referer: 'https://www.google.com/', weight: 30 },
  { referer: 'https://news.ycombinator.com/item?id=1', weight: 12 },
  { referer: 'https://t.co/abc', weight: 8 },
  { referer: 'https://duckduckgo.com/', weight: 6 },
  { query: 'utm_source=newsletter&utm_medium=email&utm_campaign=launch', weight: 10 },
  { query: 'utm_source=mastodon&utm_medium=social&utm_campaign=launch', weight: 4 },
];

const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** Build the whole demo traffic, sorted by time: deterministic for a seed. */
export function demoTraffic(opts: TrafficOptions): DemoRequest[] {
  const rand = seededRandom(opts.seed);
  const out: DemoRequest[] = [];
  for (let v = 0; v < opts.visitors; v++) {
    // Shared-address-space IPs (RFC 6598): strings only, never contacted.
    const ipAddr = `100.64.${Math.floor(v / 250) % 250}.${(v % 250) + 1}`;
    const kind = rand();
    const arrival = opts.start + Math.floor(rand() * opts.durationMs * 0.9);
    if (kind < 0.07) {
      crawler(rand, out, v, ipAddr, arrival);
      continue;
    }
    const ua = pick(rand, BROWSERS);
    const user = kind < 0.22 ? `user-${v}` : null;
    const signs = !user && rand() < 0.12;
    let at = arrival;
    const sessions = !user && rand() < 0.2 ? 2 : 1;
    for (let s = 0; s < sessions; s++) {
      at = human(rand, out, { v, ip: ipAddr, ua, user, signs: signs && s === sessions - 1 }, at);
      at += between(rand, 2, 6) * 3_600_000;
      if (at > opts.start + opts.durationMs) break;
    }
  }
  return out.sort((a, b) => a.at - b.at || a.visitor - b.visitor);
}

function weighted<T extends { weight: number }>(rand: () => number, items: T[]): T {
  let r = rand() * items.reduce((s, i) => s + i.weight, 0);
  for (const i of items) {
    r -= i.weight;
    if (r <= 0) return i;
  }
  return items[items.length - 1] as T;
}

function human(
  rand: () => number,
  out: DemoRequest[],
  who: { v: number; ip: string; ua: string; user: string | null; signs: boolean },
  start: number,
): number {
  const source = weighted(rand, SOURCES);
  const landing = rand() < 0.5 ? popular(rand, POSTS) : pick(rand, ['/', '/', '/pricing', ...COMMUNITIES]);
  const pages = [landing];
  const depth = rand() < 0.35 ? 1 : between(rand, 2, 7);
  for (let i = 1; i < depth; i++) {
    pages.push(rand() < 0.6 ? popular(rand, POSTS) : pick(rand, ['/', '/about', '/pricing', ...COMMUNITIES]));
  }
  if (who.user) pages.push('/dashboard');
  if (who.signs) pages.push('/pricing', '/signup');
  let at = start;
  pages.forEach((path, i) => {
    const headers: Record<string, string> = {
      'user-agent': who.ua,
      accept: HTML_ACCEPT,
      'x-forwarded-for': who.ip,
    };
    if (who.user) headers['x-demo-user'] = who.user;
    if (i === 0 && source.referer) headers.referer = source.referer;
    const url = i === 0 && source.query ? `${path}?${source.query}` : path;
    const engage =
      rand() < 0.7 ? { ms: between(rand, 3, 180) * 1000, scroll: between(rand, 10, 100) } : undefined;
    out.push({ at, visitor: who.v, method: 'GET', path: url, headers, ...(engage ? { engage } : {}) });
    at += between(rand, 8, 240) * 1000;
  });
  if (who.signs) {
    out.push({
      at,
      visitor: who.v,
      method: 'POST',
      path: '/signup',
      headers: { 'user-agent': who.ua, 'x-forwarded-for': who.ip, 'content-type': 'application/json' },
      body: JSON.stringify({ user: `new-${who.v}` }),
    });
    at += 2_000;
    out.push({
      at,
      visitor: who.v,
      method: 'GET',
      path: '/dashboard',
      headers: {
        'user-agent': who.ua,
        accept: HTML_ACCEPT,
        'x-forwarded-for': who.ip,
        'x-demo-user': `new-${who.v}`,
      },
    });
  }
  return at;
}

function crawler(rand: () => number, out: DemoRequest[], v: number, ip: string, start: number): void {
  const ua = pick(rand, CRAWLERS);
  const n = between(rand, 5, 40);
  let at = start;
  for (let i = 0; i < n; i++) {
    const path = i === 0 ? '/' : rand() < 0.7 ? popular(rand, POSTS) : pick(rand, COMMUNITIES);
    const headers: Record<string, string> = {
      'user-agent': ua,
      accept: 'text/html,*/*',
      'x-forwarded-for': ip,
    };
    out.push({ at, visitor: v, method: 'GET', path, headers });
    at += between(rand, 1, 3) * 1000;
  }
}
