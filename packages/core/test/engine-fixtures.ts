import {
  AnonError,
  type Clock,
  createTracker,
  type HotStore,
  type Ids,
  type Logger,
  type PageMetric,
  type PageView,
  type Queue,
  type RequestInfo,
  type SessionRules,
  type Tracker,
  type TrackerOptions,
  type ViewDraft,
} from '@anon/core';
import {
  type MemoryHotStore,
  type MemoryStore,
  memoryHotStore,
  memoryQueue,
  memoryStore,
} from '@anon/core/memory';

/** Realistic fixed epoch: 2026-01-15 12:00 UTC. */
export const T0 = Date.UTC(2026, 0, 15, 12);
export const MIN = 60_000;

export const RULES: SessionRules = {
  sessionTimeoutMs: 30 * MIN,
  persistEvery: 5,
  botMaxViewsPerMinute: 60,
  realtimeWindowMs: 5 * MIN,
};

export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** A view before the hot store placed it, with every field set to something plausible. */
export function draft(overrides: Partial<ViewDraft> = {}): ViewDraft {
  const at = overrides.at ?? T0;
  return {
    id: 'v1',
    userId: null,
    authenticated: false,
    at,
    day: utcDay(at),
    path: '/',
    url: '/',
    pageType: null,
    scope: null,
    ip: null,
    isBot: false,
    botReasons: [],
    referrer: null,
    referrerHost: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    country: null,
    city: null,
    ...overrides,
  };
}

export function pageView(overrides: Partial<PageView> = {}): PageView {
  return { ...draft(overrides), sessionId: 's1', visitorKey: 'k1', seq: 1, ...overrides };
}

export function metric(overrides: Partial<PageMetric> = {}): PageMetric {
  return {
    viewId: 'v1',
    metric: 'time_on_page',
    value: 1000,
    sessionId: 's1',
    day: utcDay(T0),
    at: T0,
    path: '/',
    isBot: false,
    ...overrides,
  };
}

/** A clock the test moves by hand. */
export interface FakeClock extends Clock {
  set(at: number): void;
  advance(ms: number): void;
}

export function fakeClock(start = T0): FakeClock {
  let t = start;
  return {
    now: () => t,
    set(at) {
      t = at;
    },
    advance(ms) {
      t += ms;
    },
  };
}

/** Deterministic, readable ids (`id-000001`, …): tests can name them. */
export function countingIds(prefix = 'id'): Ids {
  let n = 0;
  return { next: () => `${prefix}-${String(++n).padStart(6, '0')}` };
}

export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
export const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
export const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/** A navigation as a binding reports it once the response is done. */
export function navigation(
  url: string,
  overrides: Partial<RequestInfo> & { ua?: string; extra?: Record<string, string> } = {},
): RequestInfo {
  const { ua = FIREFOX, extra = {}, ...rest } = overrides;
  return {
    method: 'GET',
    url,
    headers: { accept: 'text/html,application/xhtml+xml', 'user-agent': ua, host: 'blog.example', ...extra },
    ip: '203.0.113.7',
    status: 200,
    ...rest,
  };
}

/** Everything of a tracker on the memory ports, with a clock the test moves. */
export interface MemoryRig {
  tracker: Tracker;
  clock: FakeClock;
  hot: MemoryHotStore;
  store: MemoryStore;
  queue: Queue;
}

/** A tracker on our own memory ports (not mocks: the reference implementations), sweeper off, fake clock. */
export function memoryRig(options: TrackerOptions = {}): MemoryRig {
  const clock = fakeClock();
  const hot = memoryHotStore();
  const store = memoryStore();
  const queue = memoryQueue();
  const tracker = createTracker({
    hot,
    store,
    queue,
    clock,
    sweeper: false,
    logger: silentLogger(),
    ...options,
  });
  return { tracker, clock, hot, store, queue };
}

/** A logger that keeps what it was told, so tests can assert on failures without noise. */
export function silentLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (msg) => {
      lines.push(msg);
    },
    error: (msg) => {
      lines.push(msg);
    },
  };
}

/** A hot store whose backend is down: every call rejects (fault injection, not a stand-in for the real one). */
export function failingHotStore(): HotStore {
  const down = async (): Promise<never> => {
    throw new AnonError('hot_store_failed', 'connection refused', { source: 'test' });
  };
  return {
    salt: down,
    recordPageView: down,
    recordPageViews: down,
    engage: down,
    identify: down,
    activeVisitors: down,
    claimExpired: down,
    complete: down,
  };
}
