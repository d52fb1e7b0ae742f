import type { AnonEvent, Conversion, EventBatch, PageMetric, PageView, Session } from '@anon/core';

/** 2026-01-15 12:00 UTC: the fixed "now" of these tests. */
export const T0 = Date.UTC(2026, 0, 15, 12);
export const MIN = 60_000;
export const DAY_MS = 86_400_000;

export const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);

let seq = 0;
/** A unique id for fixtures (event ids are opaque strings to the store). */
export const nextId = (prefix: string) => `${prefix}-${(++seq).toString().padStart(6, '0')}`;

const noSource = {
  referrer: null,
  referrerHost: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
};

export function view(over: Partial<PageView> = {}): PageView {
  const at = over.at ?? T0;
  return {
    id: nextId('v'),
    sessionId: 's1',
    visitorKey: 'k1',
    userId: null,
    authenticated: false,
    at,
    day: dayOf(at),
    path: '/',
    url: over.path ?? '/',
    pageType: null,
    scope: null,
    ip: null,
    isBot: false,
    botReasons: [],
    seq: 1,
    ...noSource,
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    country: null,
    city: null,
    ...over,
  };
}

export function metric(v: PageView, name: PageMetric['metric'], value: number): PageMetric {
  return {
    viewId: v.id,
    metric: name,
    value,
    sessionId: v.sessionId,
    day: v.day,
    at: v.at,
    path: v.path,
    isBot: v.isBot,
  };
}

export function session(over: Partial<Session> = {}): Session {
  const startedAt = over.startedAt ?? T0;
  const lastSeenAt = over.lastSeenAt ?? startedAt;
  return {
    id: 's1',
    visitorKey: 'k1',
    userId: null,
    startedAt,
    day: dayOf(startedAt),
    lastSeenAt,
    endedAt: null,
    durationMs: lastSeenAt - startedAt,
    pageViews: 1,
    landingPath: '/',
    exitPath: '/',
    isBot: false,
    convertedUserId: null,
    convertedAt: null,
    ...noSource,
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    country: null,
    city: null,
    ...over,
  };
}

export function conversion(over: Partial<Conversion> = {}): Conversion {
  const at = over.at ?? T0;
  return {
    id: `signup:${over.userId ?? 'u1'}`,
    userId: 'u1',
    kind: 'signup',
    at,
    day: dayOf(at),
    sessionIds: ['s1'],
    firstTouch: null,
    lastTouch: null,
    pagesBefore: 1,
    msBefore: 0,
    ...over,
  };
}

export const ev = {
  view: (v: PageView): AnonEvent => ({ type: 'pageview', id: v.id, view: v }),
  metric: (m: PageMetric): AnonEvent => ({ type: 'metric', id: `${m.viewId}:${m.metric}`, metric: m }),
  session: (s: Session): AnonEvent => ({
    type: 'session',
    id: `${s.id}@${s.lastSeenAt}:${s.pageViews}`,
    session: s,
  }),
  conversion: (c: Conversion): AnonEvent => ({ type: 'conversion', id: c.id, conversion: c }),
};

export const batch = (events: AnonEvent[], id = nextId('b')): EventBatch => ({ id, events });

/**
 * One visitor's session: page views at `paths`, a minute apart from `start`, and its summary after the last.
 */
export function visit(
  sessionId: string,
  paths: string[],
  over: Partial<Session> & { start?: number } = {},
): { views: PageView[]; session: Session } {
  const start = over.start ?? T0;
  const { start: _s, ...rest } = over;
  const base = session({ id: sessionId, visitorKey: `key-${sessionId}`, startedAt: start, ...rest });
  const views = paths.map((path, i) =>
    view({
      sessionId,
      visitorKey: base.visitorKey,
      userId: base.userId,
      authenticated: base.userId !== null,
      at: start + i * MIN,
      day: base.day,
      path,
      seq: i + 1,
      isBot: base.isBot,
      device: base.device,
      browser: base.browser,
      os: base.os,
      referrer: base.referrer,
      referrerHost: base.referrerHost,
      utmSource: base.utmSource,
      utmMedium: base.utmMedium,
      utmCampaign: base.utmCampaign,
    }),
  );
  const last = start + (paths.length - 1) * MIN;
  return {
    views,
    session: {
      ...base,
      lastSeenAt: last,
      endedAt: last,
      durationMs: last - start,
      pageViews: paths.length,
      landingPath: paths[0] ?? '/',
      exitPath: paths.at(-1) ?? '/',
    },
  };
}
