import type {
  AnonEvent,
  Conversion,
  Day,
  EventBatch,
  MetricName,
  Millis,
  PageMetric,
  PageView,
  Session,
} from '@anon/core';
import { touchOf } from '@anon/core/adapter';
import { mulberry32, seededUuidv7 } from './random.js';

/** A realistic fixed epoch: noon UTC on 15 January 2026. */
export const FIXTURE_NOW: Millis = Date.UTC(2026, 0, 15, 12);
/** The day of `FIXTURE_NOW`. */
export const FIXTURE_DAY: Day = '2026-01-15';
/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

// Fixture ids must not collide between test files running in parallel against one shared server, so this
// source (unlike the traffic generator) is seeded from the platform's random bytes.
const idSource = mulberry32(crypto.getRandomValues(new Uint32Array(1))[0] as number);

/** A fresh UUIDv7 for `at`, unique across test files. */
export function fixtureId(at: Millis = FIXTURE_NOW): string {
  return seededUuidv7(idSource, at);
}

/** A fresh visitor key (32 hex digits, like a truncated HMAC). */
export function fixtureVisitorKey(): string {
  return idSource.hex(32);
}

/** `YYYY-MM-DD` of `at` in UTC. */
export function utcDay(at: Millis): Day {
  return new Date(at).toISOString().slice(0, 10);
}

/** A stored page view with sensible defaults; `day` follows `at` and `authenticated` follows `userId`. */
export function fixtureView(overrides: Partial<PageView> = {}): PageView {
  const at = overrides.at ?? FIXTURE_NOW;
  const userId = overrides.userId ?? null;
  return {
    id: fixtureId(at),
    sessionId: fixtureId(at),
    visitorKey: fixtureVisitorKey(),
    userId,
    authenticated: userId !== null,
    at,
    day: utcDay(at),
    path: '/',
    url: '/',
    pageType: null,
    scope: null,
    ip: null,
    isBot: false,
    botReasons: [],
    seq: 1,
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

/** A stored session summary; `day` follows `startedAt` and `durationMs` is `lastSeenAt − startedAt`. */
export function fixtureSession(overrides: Partial<Session> = {}): Session {
  const startedAt = overrides.startedAt ?? FIXTURE_NOW;
  const lastSeenAt = overrides.lastSeenAt ?? startedAt;
  return {
    id: fixtureId(startedAt),
    visitorKey: fixtureVisitorKey(),
    userId: null,
    startedAt,
    day: utcDay(startedAt),
    lastSeenAt,
    endedAt: null,
    durationMs: lastSeenAt - startedAt,
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
    browser: 'Firefox',
    os: 'Linux',
    country: null,
    city: null,
    ...overrides,
  };
}

/** The page views of one session: paths in order, `gapMs` apart, numbered by `seq`. */
export function fixtureVisit(session: Session, paths: string[], gapMs = 60_000): PageView[] {
  return paths.map((path, i) =>
    fixtureView({
      sessionId: session.id,
      visitorKey: session.visitorKey,
      userId: session.userId,
      at: session.startedAt + i * gapMs,
      path,
      url: path,
      seq: i + 1,
      isBot: session.isBot,
      botReasons: session.isBot ? ['user-agent'] : [],
      device: session.device,
      browser: session.browser,
      os: session.os,
      ...(i === 0
        ? {
            referrer: session.referrer,
            referrerHost: session.referrerHost,
            utmSource: session.utmSource,
            utmMedium: session.utmMedium,
            utmCampaign: session.utmCampaign,
            utmTerm: session.utmTerm,
            utmContent: session.utmContent,
          }
        : {}),
    }),
  );
}

/** The final summary of a session whose page views are `views` (by `seq`). */
export function finalSummary(session: Session, views: PageView[]): Session {
  const last = views[views.length - 1];
  if (last === undefined) return session;
  return {
    ...session,
    lastSeenAt: last.at,
    endedAt: last.at,
    durationMs: last.at - session.startedAt,
    pageViews: views.length,
    landingPath: views[0]?.path ?? session.landingPath,
    exitPath: last.path,
  };
}

/** A metric of `view`, carrying its day, time, path and bot flag. */
export function fixtureMetric(view: PageView, metric: MetricName, value: number): PageMetric {
  return {
    viewId: view.id,
    metric,
    value,
    sessionId: view.sessionId,
    day: view.day,
    at: view.at,
    path: view.path,
    isBot: view.isBot,
  };
}

/** A sign-up linking `sessions` (oldest first), with first- and last-touch attribution. */
export function fixtureConversion(userId: string, sessions: Session[], at: Millis = FIXTURE_NOW): Conversion {
  const first = sessions[0];
  const last = sessions[sessions.length - 1];
  return {
    id: `signup:${userId}`,
    userId,
    kind: 'signup',
    at,
    day: utcDay(at),
    sessionIds: sessions.map((s) => s.id),
    firstTouch: first ? touchOf(first) : null,
    lastTouch: last ? touchOf(last) : null,
    pagesBefore: sessions.reduce((sum, s) => sum + s.pageViews, 0),
    msBefore: first ? at - first.startedAt : null,
  };
}

/** Events wrapping page views, metrics, session summaries and conversions, with their canonical ids. */
export function pageViewEvent(view: PageView): AnonEvent {
  return { type: 'pageview', id: view.id, view };
}
export function metricEvent(metric: PageMetric): AnonEvent {
  return { type: 'metric', id: `${metric.viewId}:${metric.metric}`, metric };
}
export function sessionEvent(session: Session): AnonEvent {
  return { type: 'session', id: `${session.id}:${session.pageViews}:${session.lastSeenAt}`, session };
}
export function conversionEvent(conversion: Conversion): AnonEvent {
  return { type: 'conversion', id: conversion.id, conversion };
}
/** The `botsession` event of the session of `flagging`, the page view that turned it into a bot session. */
export function botSessionEvent(flagging: PageView): AnonEvent {
  const sessionId = flagging.sessionId;
  if (sessionId === null) throw new RangeError('[anon] [testing] a bot session needs a view with a session');
  return {
    type: 'botsession',
    id: `${sessionId}:bot`,
    botSession: { sessionId, day: flagging.day, at: flagging.at },
  };
}

/** A batch with a fresh id. */
export function batchOf(events: AnonEvent[]): EventBatch {
  return { id: fixtureId(), events };
}

/**
 * The longest prefix of `value` that fits in `max` UTF-16 code units without splitting a surrogate pair
 * (a lone surrogate is not valid UTF-8, and a database would rightly refuse it).
 */
export function fitTo(value: string, max: number): string {
  let out = '';
  for (const ch of value) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/**
 * Strings a request can carry into a stored field: SQL, Mongo operators and dotted keys, prototype names,
 * Redis protocol, LIKE and regex metacharacters, right-to-left and combining unicode, and a 500-unit value.
 * None contains `*` (a path pattern) or NUL. Each must be stored and read back verbatim.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  `'`,
  `"quoted" and 'single' and \`back\``,
  `'; DROP TABLE page_views; --`,
  `Robert'); DELETE FROM sessions WHERE ('1'='1`,
  `$where`,
  `{"$gt": ""}`,
  `$ne`,
  `a.b`,
  `a.b.c.$[]`,
  `__proto__`,
  `constructor`,
  `prototype`,
  `%_\\%`,
  `/100%`,
  `^(a+)+$ [x] (y) {z} | ? +`,
  `$3\r\nDEL\r\n$1\r\nk\r\n`,
  `'); redis.call('FLUSHALL'); --`,
  `Crème brûlée 🍮 日本語 עברית العربية`,
  `\u202eevil\u202c 👩‍👩‍👧 e\u0301`,
  `\t\n\r\\ \u2028`,
  `${'é🍮<script>alert(1)</script>'.repeat(30)}`,
];
