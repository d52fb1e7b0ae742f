import { type Clock, createTracker, type RequestInfo, type Tracker } from '@anon/core';
import { type MemoryHotStore, type MemoryStore, memoryHotStore, memoryStore } from '@anon/core/memory';

/** 2026-01-15 12:00 UTC: the seeded traffic happens on this day and the one before. */
export const NOW = Date.UTC(2026, 0, 15, 12);
export const MIN = 60_000;

export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
export const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/** Markup an attacker can put in a path, a referrer or a campaign: it must reach the page as text. */
export const XSS = '<img src=x onerror=alert(1)>';

/** A clock the test moves. */
export function fakeClock(at: number): Clock & { set(at: number): void } {
  let now = at;
  return {
    now: () => now,
    set: (next) => {
      now = next;
    },
  };
}

export interface Seeded {
  tracker: Tracker;
  store: MemoryStore;
  hot: MemoryHotStore;
  clock: ReturnType<typeof fakeClock>;
}

function navigation(
  url: string,
  o: { ua?: string; ip: string; referer?: string; userId?: string; route?: string },
): RequestInfo {
  return {
    method: 'GET',
    url,
    headers: {
      accept: 'text/html,application/xhtml+xml',
      'user-agent': o.ua ?? FIREFOX,
      host: 'blog.example',
      ...(o.referer === undefined ? {} : { referer: o.referer }),
    },
    ip: o.ip,
    status: 200,
    ...(o.userId === undefined ? {} : { userId: o.userId }),
    ...(o.route === undefined ? {} : { route: o.route }),
  };
}

/**
 * A small day of traffic through the real engine (memory ports): an anonymous visitor from a search engine
 * reads two posts and signs up, a logged-in reader, a campaign visitor on a phone who bounces, a crawler,
 * and a visitor whose path, referrer and campaign carry markup. Sessions are swept, so every report is final.
 */
export async function seedTraffic(): Promise<Seeded> {
  const clock = fakeClock(NOW - 26 * 60 * MIN);
  const store = memoryStore();
  const hot = memoryHotStore();
  const tracker = createTracker({ store, hot, clock, sweeper: false, logger: { warn() {}, error() {} } });
  const at = (t: number, req: RequestInfo) => {
    clock.set(t);
    tracker.track(req);
  };
  const yesterday = NOW - 24 * 60 * MIN;

  // Yesterday: the reader who later signs up, first visit.
  at(yesterday, navigation('/', { ip: '198.51.100.1', referer: 'https://www.google.com/' }));
  at(yesterday + 2 * MIN, navigation('/posts/1', { ip: '198.51.100.1', route: '/posts/:id' }));
  // Yesterday: a logged-in reader.
  at(yesterday + 5 * MIN, navigation('/', { ip: '198.51.100.2', userId: 'user-2' }));
  at(yesterday + 6 * MIN, navigation('/pricing', { ip: '198.51.100.2', userId: 'user-2' }));
  // Today: a campaign visitor on a phone who leaves after one page.
  at(
    NOW - 3 * 60 * MIN,
    navigation('/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=january', {
      ip: '198.51.100.3',
      ua: IPHONE,
    }),
  );
  // Today: a crawler.
  at(NOW - 2 * 60 * MIN, navigation('/', { ip: '66.249.66.1', ua: GOOGLEBOT }));
  at(NOW - 2 * 60 * MIN + 1_000, navigation('/pricing', { ip: '66.249.66.1', ua: GOOGLEBOT }));
  // Today: markup everywhere an attacker controls.
  at(
    NOW - 90 * MIN,
    navigation(`/search?utm_source=${encodeURIComponent(XSS)}&utm_campaign=${encodeURIComponent(XSS)}`, {
      ip: '198.51.100.4',
      referer: `https://evil.example/${encodeURIComponent(XSS)}`,
      route: `/${XSS}`,
    }),
  );
  // Today: the first reader comes back, reads, and signs up.
  at(
    NOW - 60 * MIN,
    navigation('/posts/2', {
      ip: '198.51.100.1',
      route: '/posts/:id',
      referer: 'https://news.ycombinator.com/item',
    }),
  );
  at(NOW - 58 * MIN, navigation('/pricing', { ip: '198.51.100.1' }));
  at(NOW - 55 * MIN, navigation('/signup', { ip: '198.51.100.1' }));
  await tracker.flush();
  clock.set(NOW - 55 * MIN);
  await tracker.identify(navigation('/signup', { ip: '198.51.100.1' }), 'user-1', 'signup');
  await tracker.flush();
  // A visitor reading right now, for the real-time panel.
  clock.set(NOW - MIN);
  tracker.track(navigation('/posts/3', { ip: '198.51.100.5', route: '/posts/:id' }));
  await tracker.flush();
  clock.set(NOW);
  await tracker.sweep();
  await tracker.flush();
  return { tracker, store, hot, clock };
}
