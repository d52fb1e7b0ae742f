import type {
  Conversion,
  EventBatch,
  PageMetric,
  PageView,
  RecordInput,
  Session,
  SessionRules,
  ViewDraft,
} from '@anon/core';

/** 2026-01-15 12:00 UTC: every test here counts from this fixed time. */
export const T0 = Date.UTC(2026, 0, 15, 12);
export const MIN = 60_000;

export const RULES: SessionRules = {
  sessionTimeoutMs: 30 * MIN,
  persistEvery: 5,
  botMaxViewsPerMinute: 60,
  realtimeWindowMs: 5 * MIN,
};

const dayOfUtc = (at: number) => new Date(at).toISOString().slice(0, 10);

let counter = 0;
/** A unique id with a readable prefix. */
export const uid = (prefix: string) => `${prefix}-${String(++counter).padStart(6, '0')}`;

export function draft(at: number, path: string, overrides: Partial<ViewDraft> = {}): ViewDraft {
  return {
    id: uid('view'),
    userId: null,
    authenticated: false,
    at,
    day: dayOfUtc(at),
    path,
    url: path,
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
    browser: 'Chrome',
    os: 'macOS',
    country: null,
    city: null,
    ...overrides,
  };
}

export function record(visitorKey: string, view: ViewDraft, extra: Partial<RecordInput> = {}): RecordInput {
  return { visitorKey, previousVisitorKey: null, view, newSessionId: uid('session'), scopes: [], ...extra };
}

export function pageView(at: number, path: string, overrides: Partial<PageView> = {}): PageView {
  return { ...draft(at, path), sessionId: null, visitorKey: null, seq: 0, ...overrides };
}

export function session(overrides: Partial<Session> & { id: string; startedAt: number }): Session {
  const lastSeenAt = overrides.lastSeenAt ?? overrides.startedAt;
  return {
    visitorKey: 'visitor-a',
    userId: null,
    day: dayOfUtc(overrides.startedAt),
    lastSeenAt,
    endedAt: null,
    durationMs: lastSeenAt - overrides.startedAt,
    pageViews: 1,
    landingPath: '/',
    exitPath: '/',
    isBot: false,
    convertedUserId: null,
    convertedAt: null,
    referrer: null,
    referrerHost: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    device: 'desktop',
    browser: 'Chrome',
    os: 'macOS',
    country: null,
    city: null,
    ...overrides,
  };
}

export function metric(view: PageView, name: PageMetric['metric'], value: number): PageMetric {
  return {
    viewId: view.id,
    metric: name,
    value,
    sessionId: view.sessionId,
    day: view.day,
    at: view.at,
    path: view.path,
    isBot: view.isBot,
  };
}

export function conversion(
  userId: string,
  at: number,
  sessionIds: string[],
  landing: Session | null,
): Conversion {
  const touch =
    landing === null
      ? null
      : {
          sessionId: landing.id,
          landingPath: landing.landingPath,
          startedAt: landing.startedAt,
          referrer: landing.referrer,
          referrerHost: landing.referrerHost,
          utmSource: landing.utmSource,
          utmMedium: landing.utmMedium,
          utmCampaign: landing.utmCampaign,
          utmTerm: landing.utmTerm,
          utmContent: landing.utmContent,
        };
  return {
    id: `signup:${userId}`,
    userId,
    kind: 'signup',
    at,
    day: dayOfUtc(at),
    sessionIds,
    firstTouch: touch,
    lastTouch: touch,
    pagesBefore: 1,
    msBefore: null,
  };
}

/** A batch of page views, metrics, sessions and conversions, each event under its natural id. */
export function batch(
  items: { views?: PageView[]; metrics?: PageMetric[]; sessions?: Session[]; conversions?: Conversion[] },
  id = uid('batch'),
): EventBatch {
  return {
    id,
    events: [
      ...(items.views ?? []).map((view) => ({ type: 'pageview' as const, id: view.id, view })),
      ...(items.metrics ?? []).map((m) => ({
        type: 'metric' as const,
        id: `${m.viewId}:${m.metric}`,
        metric: m,
      })),
      ...(items.sessions ?? []).map((s) => ({ type: 'session' as const, id: s.id, session: s })),
      ...(items.conversions ?? []).map((c) => ({ type: 'conversion' as const, id: c.id, conversion: c })),
    ],
  };
}
