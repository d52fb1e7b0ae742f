import {
  type AnonEvent,
  buildConversion,
  type Conversion,
  type Day,
  DEFAULT_CONFIG,
  type EventBatch,
  type HotSession,
  type IdentifyKind,
  type Millis,
  type PageMetric,
  type PageView,
  type RequestInfo,
  type Session,
  type SessionRules,
  type SourceFields,
  sessionize,
  sessionSummary,
  type ViewDraft,
} from '@anon/core';
import { mergeSessionSummary } from './merge-session.js';
import { mulberry32, type Random, seededUuidv7 } from './random.js';
import {
  type AgentProfile,
  BROWSER_AGENTS,
  CAMPAIGNS,
  COUNTRIES,
  CRAWLER_AGENTS,
  pickRoute,
  REFERRERS,
  type RouteSpec,
  SIGNUP_ROUTE,
} from './traffic-catalog.js';
import { computeTruth, type TrafficTruth, withBotSessions } from './traffic-truth.js';

const DAY_MS = 86_400_000;

/** Shape of the generated traffic. Every field but `seed` has a default. */
export interface TrafficOptions {
  /** Same seed, same traffic: requests, ids, batches and truth. */
  seed: number;
  /** Distinct visitors (people, crawlers and scrapers together). @default 40 */
  visitors?: number;
  /** Days of traffic. @default 3 */
  days?: number;
  /** First day (`YYYY-MM-DD`, UTC) or any time in it. @default '2026-01-12' */
  start?: Day | Millis;
  /** Share of visitors that are crawlers (bot by user agent). @default 0.1 */
  botShare?: number;
  /** Share of anonymous human visitors who sign up on their last visit. @default 0.2 */
  signupShare?: number;
  /** Share of human visitors already logged in. @default 0.15 */
  authenticatedShare?: number;
  /**
   * Visitors with a browser user agent who fire more views per minute than the rate limit (their sessions
   * become bot sessions); the first, third, … are logged in (a script using an account). @default 1
   */
  scrapers?: number;
  /** Events per `EventBatch`. @default 40 */
  batchSize?: number;
  /** Session rules the reducers run with. @default the tracker's defaults */
  rules?: Partial<SessionRules>;
  /** How far back a sign-up links anonymous sessions. @default 86_400_000 (24 h) */
  conversionWindowMs?: number;
  /** Host of the imaginary site. @default 'example.com' */
  host?: string;
}

/** One request to replay through a tracker or a binding, in time order. */
export interface TrafficRequest {
  at: Millis;
  request: RequestInfo;
  /** Set on a sign-up or log-in form post: call `tracker.identify(request, userId, kind)` after it. */
  identify?: { userId: string; kind: IdentifyKind };
}

/** Seeded traffic: requests for a tracker, store batches built by core's reducers, and the truth. */
export interface Traffic {
  options: Required<Omit<TrafficOptions, 'rules' | 'start'>> & { rules: SessionRules; start: Millis };
  /** First and last day with a page view, and every day in between. */
  from: Day;
  to: Day;
  days: Day[];
  requests: TrafficRequest[];
  /** Store batches, in the order a worker would write them. */
  batches: EventBatch[];
  /**
   * What the store holds once every batch is written (deduplicated, sessions merged, the page views and
   * metrics of sessions flagged by a `botsession` event re-flagged as bots').
   */
  views: PageView[];
  metrics: PageMetric[];
  sessions: Session[];
  conversions: Conversion[];
  /** Every report for any query, by brute force over the four lists above. */
  truth: TrafficTruth;
}

type VisitorKind = 'human' | 'crawler' | 'scraper';

interface Visitor {
  index: number;
  kind: VisitorKind;
  visitorKey: string;
  ip: string;
  agent: AgentProfile;
  country: string | null;
  /** Logged in from the first view. */
  userId: string | null;
  /** Signs up during the last visit. */
  signupUserId: string | null;
}

interface PlannedView {
  type: 'view';
  at: Millis;
  visitor: Visitor;
  route: RouteSpec;
  /** Raw path and query the browser asked for. */
  rawPath: string;
  scope: string | null;
  /** Source fields: only the landing view of a visit has any. */
  source: SourceFields;
  /** The referrer header the browser sent. */
  refererHeader: string | null;
  /** Query kept by the tracker (UTM tags) on a campaign landing. */
  keptQuery: string;
}

interface PlannedIdentify {
  type: 'identify';
  at: Millis;
  visitor: Visitor;
  kind: IdentifyKind;
  userId: string;
}

type Planned = PlannedView | PlannedIdentify;

const NO_SOURCE: SourceFields = {
  referrer: null,
  referrerHost: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
};

function dayOfUtc(at: Millis): Day {
  return new Date(at).toISOString().slice(0, 10);
}

function startOf(start: Day | Millis): Millis {
  const at = typeof start === 'number' ? start : Date.parse(`${start}T00:00:00Z`);
  if (!Number.isFinite(at)) throw new RangeError(`[anon] [testing] invalid traffic start: ${String(start)}`);
  return Math.floor(at / DAY_MS) * DAY_MS;
}

function makeVisitor(random: Random, index: number, kind: VisitorKind, o: Traffic['options']): Visitor {
  const human = kind !== 'crawler';
  const agent = human ? random.pick(BROWSER_AGENTS) : random.pick(CRAWLER_AGENTS);
  const ip =
    kind === 'crawler'
      ? `66.249.66.${(index % 250) + 1}`
      : random.chance(0.2)
        ? `2001:db8:${random.hex(4)}::${random.hex(4)}`
        : `198.51.100.${(index % 250) + 1}`;
  const loggedIn = kind === 'human' && random.chance(o.authenticatedShare);
  const signsUp = kind === 'human' && !loggedIn && random.chance(o.signupShare);
  // Named without drawing from `random`, so the rest of the traffic does not depend on it.
  const scraperUser = kind === 'scraper' && index % 2 === 0 ? `user-scraper-${index}` : null;
  return {
    index,
    kind,
    visitorKey: random.hex(32),
    ip,
    agent,
    country: kind === 'crawler' ? 'US' : random.pick(COUNTRIES),
    userId: loggedIn ? `user-${random.hex(10)}` : scraperUser,
    signupUserId: signsUp ? `user-${random.hex(10)}` : null,
  };
}

function landingSource(random: Random): { source: SourceFields; referer: string | null; query: string } {
  const roll = random.next();
  if (roll < 0.4) return { source: NO_SOURCE, referer: null, query: '' };
  if (roll < 0.8) {
    const ref = random.pick(REFERRERS);
    return {
      source: { ...NO_SOURCE, referrer: ref.referrer, referrerHost: ref.referrerHost },
      referer: ref.referrerHost === 'www.google.com' ? `${ref.referrer}` : `${ref.referrer}?src=share`,
      query: '',
    };
  }
  const c = random.pick(CAMPAIGNS);
  const params = new URLSearchParams();
  params.set('utm_source', c.utmSource);
  if (c.utmMedium !== null) params.set('utm_medium', c.utmMedium);
  if (c.utmCampaign !== null) params.set('utm_campaign', c.utmCampaign);
  if (c.utmTerm !== null) params.set('utm_term', c.utmTerm);
  if (c.utmContent !== null) params.set('utm_content', c.utmContent);
  // A social campaign arrives through the network's link shortener; the others have no referrer.
  const social = c.utmSource === 'twitter';
  return {
    source: {
      referrer: social ? 'https://t.co/x7Qe2' : null,
      referrerHost: social ? 't.co' : null,
      utmSource: c.utmSource,
      utmMedium: c.utmMedium,
      utmCampaign: c.utmCampaign,
      utmTerm: c.utmTerm,
      utmContent: c.utmContent,
    },
    referer: social ? 'https://t.co/x7Qe2' : null,
    query: `?${params.toString()}`,
  };
}

function planVisit(
  random: Random,
  visitor: Visitor,
  startAt: Millis,
  o: Traffic['options'],
  out: Planned[],
): Millis {
  const timeout = o.rules.sessionTimeoutMs;
  let at = startAt;
  let previousRaw: string | null = null;
  const push = (
    route: RouteSpec,
    landing: { source: SourceFields; referer: string | null; query: string } | null,
  ) => {
    const { path, scope } = route.concrete(random);
    const rawPath = landing
      ? `${path}${path.includes('?') ? landing.query.replace('?', '&') : landing.query}`
      : path;
    out.push({
      type: 'view',
      at,
      visitor,
      route,
      rawPath,
      scope,
      source: landing ? landing.source : NO_SOURCE,
      refererHeader: landing
        ? landing.referer
        : previousRaw === null
          ? null
          : `https://${o.host}${previousRaw}`,
      keptQuery: landing ? landing.query : '',
    });
    previousRaw = rawPath;
  };
  if (visitor.kind === 'scraper') {
    // A burst inside one minute: views past the rate limit are flagged as bot by the reducer.
    at = Math.floor(startAt / 60_000) * 60_000 + 2_000;
    const count = o.rules.botMaxViewsPerMinute + 12;
    for (let i = 0; i < count; i++) {
      push(pickRoute(random), i === 0 ? { source: NO_SOURCE, referer: null, query: '' } : null);
      at += 300;
    }
    return at;
  }
  if (visitor.kind === 'crawler') {
    const count = random.int(1, 12);
    for (let i = 0; i < count; i++) {
      push(pickRoute(random), i === 0 ? { source: NO_SOURCE, referer: null, query: '' } : null);
      at += random.int(1_000, 20_000);
    }
    return at;
  }
  const count = random.chance(0.3) ? 1 : random.int(2, 8);
  for (let i = 0; i < count; i++) {
    push(pickRoute(random), i === 0 ? landingSource(random) : null);
    // Mostly reading time; sometimes a long pause that crosses the session timeout (a new session).
    at += random.chance(0.08)
      ? random.int(timeout - 5 * 60_000, timeout + 10 * 60_000)
      : random.int(8_000, 360_000);
  }
  return at;
}

function planVisitor(random: Random, visitor: Visitor, o: Traffic['options']): Planned[] {
  const out: Planned[] = [];
  const visitDays: number[] = [];
  for (let d = 0; d < o.days; d++) {
    if (visitor.kind === 'scraper') continue;
    const n =
      visitor.kind === 'crawler'
        ? random.chance(0.7)
          ? random.int(1, 2)
          : 0
        : random.chance(0.55)
          ? 1
          : random.chance(0.3)
            ? 2
            : 0;
    for (let k = 0; k < n; k++) visitDays.push(d);
  }
  if (visitDays.length === 0) visitDays.push(random.int(0, o.days - 1));
  let lastEnd = 0;
  for (const d of visitDays) {
    // Visits start before 16:00 UTC so a whole visit, pauses included, stays within its day.
    const startAt = o.start + d * DAY_MS + random.int(0, 16 * 3_600) * 1_000 + random.int(0, 999);
    lastEnd = Math.max(lastEnd, planVisit(random, visitor, startAt, o, out));
  }
  if (visitor.userId !== null) {
    const first = Math.min(...out.map((p) => p.at));
    out.push({ type: 'identify', at: first - 1_000, visitor, kind: 'login', userId: visitor.userId });
  }
  if (visitor.signupUserId !== null) {
    // The last visit ends on pricing and sign-up; the form post identifies; a few pages follow, logged in.
    let at = lastEnd + random.int(5_000, 60_000);
    for (const route of [pickPricing(), SIGNUP_ROUTE]) {
      const { path, scope } = route.concrete(random);
      out.push({
        type: 'view',
        at,
        visitor,
        route,
        rawPath: path,
        scope,
        source: NO_SOURCE,
        refererHeader: `https://${o.host}/`,
        keptQuery: '',
      });
      at += random.int(10_000, 90_000);
    }
    out.push({ type: 'identify', at, visitor, kind: 'signup', userId: visitor.signupUserId });
    at += random.int(2_000, 30_000);
    const after = random.int(1, 2);
    for (let i = 0; i < after; i++) {
      const route = pickRoute(random);
      const { path, scope } = route.concrete(random);
      out.push({
        type: 'view',
        at,
        visitor,
        route,
        rawPath: path,
        scope,
        source: NO_SOURCE,
        refererHeader: `https://${o.host}/signup`,
        keptQuery: '',
      });
      at += random.int(5_000, 120_000);
    }
  }
  return out;
}

function pickPricing(): RouteSpec {
  return {
    route: '/pricing',
    pageType: 'pricing',
    weight: 0,
    concrete: () => ({ path: '/pricing', scope: null }),
  };
}

function resolveOptions(options: TrafficOptions): Traffic['options'] {
  const rules: SessionRules = {
    sessionTimeoutMs: options.rules?.sessionTimeoutMs ?? DEFAULT_CONFIG.sessionTimeoutMs,
    persistEvery: options.rules?.persistEvery ?? DEFAULT_CONFIG.persistEvery,
    botMaxViewsPerMinute: options.rules?.botMaxViewsPerMinute ?? DEFAULT_CONFIG.botMaxViewsPerMinute,
    realtimeWindowMs: options.rules?.realtimeWindowMs ?? DEFAULT_CONFIG.realtimeWindowMs,
  };
  const resolved = {
    seed: options.seed,
    visitors: options.visitors ?? 40,
    days: options.days ?? 3,
    start: startOf(options.start ?? '2026-01-12'),
    botShare: options.botShare ?? 0.1,
    signupShare: options.signupShare ?? 0.2,
    authenticatedShare: options.authenticatedShare ?? 0.15,
    scrapers: options.scrapers ?? 1,
    batchSize: options.batchSize ?? 40,
    rules,
    conversionWindowMs: options.conversionWindowMs ?? DEFAULT_CONFIG.conversionWindowMs,
    host: options.host ?? 'example.com',
  };
  if (!Number.isInteger(resolved.visitors) || resolved.visitors < 1) {
    throw new RangeError('[anon] [testing] visitors must be a positive integer');
  }
  if (!Number.isInteger(resolved.days) || resolved.days < 1) {
    throw new RangeError('[anon] [testing] days must be a positive integer');
  }
  if (!Number.isInteger(resolved.batchSize) || resolved.batchSize < 1) {
    throw new RangeError('[anon] [testing] batchSize must be a positive integer');
  }
  return resolved;
}

/**
 * Deterministic traffic for a site with a blog, docs and communities: people (some logged in, some signing
 * up), crawlers and a scraper, over a few days. The store batches come from core's own reducers
 * (`sessionize`, `sessionSummary`, `buildConversion`); the truth is computed independently from the rows.
 * @example
 * const traffic = generateTraffic({ seed: 7, visitors: 50, days: 3 });
 * for (const batch of traffic.batches) await store.write(batch);
 * expect(await store.topPages({ from: traffic.from, to: traffic.to })).toEqual(traffic.truth.topPages({ from: traffic.from, to: traffic.to }));
 */
export function generateTraffic(options: TrafficOptions): Traffic {
  const o = resolveOptions(options);
  const random = mulberry32(o.seed);
  const rules = o.rules;

  // 1. Who visits, and when.
  const visitors: Visitor[] = [];
  for (let i = 0; i < o.visitors; i++) {
    const kind: VisitorKind = i < o.scrapers ? 'scraper' : random.chance(o.botShare) ? 'crawler' : 'human';
    visitors.push(makeVisitor(random, i, kind, o));
  }
  const planned: Planned[] = [];
  for (const visitor of visitors) {
    const items = planVisitor(random, visitor, o);
    for (const item of items) planned.push(item);
  }
  // Time order; ties by visitor then plan order (Array.prototype.sort is stable).
  planned.sort((a, b) => a.at - b.at || a.visitor.index - b.visitor.index);
  const signups = new Map<number, Millis>();
  for (const item of planned) {
    if (item.type === 'identify' && item.kind === 'signup') signups.set(item.visitor.index, item.at);
  }

  // 2. Replay through core's reducers, as the engine, the hot store and the sweeper would.
  const events: AnonEvent[] = [];
  const requests: TrafficRequest[] = [];
  const live = new Map<number, HotSession>();
  const minuteCounts = new Map<string, number>();
  const stored = new Map<string, Session>();
  const sessionsByVisitor = new Map<string, string[]>();
  const metricKeys = new Set<string>();
  const conversions = new Map<string, Conversion>();
  const views: PageView[] = [];
  const metrics: PageMetric[] = [];
  /** Sessions the rate check turned into bot sessions: the store re-flags their earlier rows. */
  const botSessions = new Set<string>();
  let summaryCount = 0;

  const emitSummary = (session: Session) => {
    summaryCount += 1;
    events.push({ type: 'session', id: `${session.id}:summary:${summaryCount}`, session });
    const previous = stored.get(session.id) ?? null;
    if (previous === null) {
      const ids = sessionsByVisitor.get(session.visitorKey) ?? [];
      ids.push(session.id);
      sessionsByVisitor.set(session.visitorKey, ids);
    }
    stored.set(session.id, mergeSessionSummary(previous, session));
  };
  const emitMetric = (metric: PageMetric) => {
    const id = `${metric.viewId}:${metric.metric}`;
    if (metricKeys.has(id)) return;
    metricKeys.add(id);
    metrics.push(metric);
    events.push({ type: 'metric', id, metric });
  };
  const finalize = (hot: HotSession) => {
    emitSummary(sessionSummary(hot, true));
    if (hot.lastEngagedMs !== null) {
      emitMetric({
        viewId: hot.lastViewId,
        metric: 'time_on_page',
        value: hot.lastEngagedMs,
        sessionId: hot.id,
        day: hot.lastViewDay,
        at: hot.lastSeenAt,
        path: hot.exitPath,
        isBot: hot.lastViewIsBot,
      });
    }
  };
  // The sweeper runs once a minute: it finalizes sessions idle past the timeout.
  let nextSweep = Number.NEGATIVE_INFINITY;
  const sweep = (now: Millis, all: boolean) => {
    if (!all && now < nextSweep) return;
    nextSweep = Math.floor(now / 60_000) * 60_000 + 60_000;
    const due: [number, HotSession][] = [];
    for (const [index, hot] of live) {
      if (all || now - hot.lastSeenAt > rules.sessionTimeoutMs) due.push([index, hot]);
    }
    due.sort((a, b) => a[1].lastSeenAt - b[1].lastSeenAt || a[0] - b[0]);
    for (const [index, hot] of due) {
      live.delete(index);
      finalize(hot);
    }
  };

  for (const item of planned) {
    sweep(item.at, false);
    const visitor = item.visitor;
    const headers: Record<string, string> = {
      host: o.host,
      'user-agent': visitor.agent.userAgent,
      'accept-language': 'en-CA,en;q=0.9,fr;q=0.8',
    };
    if (item.type === 'identify') {
      requests.push({
        at: item.at,
        request: {
          method: 'POST',
          url: item.kind === 'signup' ? '/signup' : '/login',
          headers: { ...headers, accept: 'text/html', referer: `https://${o.host}/${item.kind}` },
          ip: visitor.ip,
          status: 303,
          route: item.kind === 'signup' ? '/signup' : '/login',
          userId: null,
        },
        identify: { userId: item.userId, kind: item.kind },
      });
      if (item.kind === 'login') continue;
      const current = live.get(visitor.index) ?? null;
      let liveSummary: Session | null = null;
      if (current !== null) {
        const linked = { ...current, userId: item.userId };
        live.set(visitor.index, linked);
        liveSummary = sessionSummary(linked, false);
      }
      const since = item.at - o.conversionWindowMs;
      const candidates = (sessionsByVisitor.get(visitor.visitorKey) ?? [])
        .map((id) => stored.get(id) as Session)
        .filter((s) => s.startedAt >= since && s.startedAt <= item.at)
        .sort((a, b) => a.startedAt - b.startedAt);
      const conversion = buildConversion(
        {
          userId: item.userId,
          kind: 'signup',
          at: item.at,
          day: dayOfUtc(item.at),
          visitorKeys: [visitor.visitorKey],
          since,
          live: liveSummary,
        },
        candidates,
      );
      if (conversion !== null && !conversions.has(conversion.id)) {
        conversions.set(conversion.id, conversion);
        events.push({ type: 'conversion', id: conversion.id, conversion });
        for (const id of conversion.sessionIds) {
          const s = stored.get(id);
          if (s && s.convertedUserId === null) {
            stored.set(id, { ...s, convertedUserId: conversion.userId, convertedAt: conversion.at });
          }
        }
      }
      if (liveSummary !== null) emitSummary(liveSummary);
      continue;
    }

    const signupAt = signups.get(visitor.index);
    const userId =
      visitor.userId ?? (signupAt !== undefined && item.at > signupAt ? visitor.signupUserId : null);
    const viewId = seededUuidv7(random, item.at);
    const url = `${item.rawPath.split('?')[0]}${item.keptQuery}`;
    requests.push({
      at: item.at,
      request: {
        method: 'GET',
        url: item.rawPath,
        headers: {
          ...headers,
          accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
          ...(item.refererHeader !== null ? { referer: item.refererHeader } : {}),
        },
        ip: visitor.ip,
        status: 200,
        route: item.route.route,
        userId,
        scope: item.scope,
        pageType: item.route.pageType,
        viewId,
      },
    });
    const draft: ViewDraft = {
      id: viewId,
      userId,
      authenticated: userId !== null,
      at: item.at,
      day: dayOfUtc(item.at),
      path: item.route.route,
      url,
      pageType: item.route.pageType,
      scope: item.scope,
      ip: null,
      isBot: visitor.agent.botReasons.length > 0,
      botReasons: [...visitor.agent.botReasons],
      ...item.source,
      device: visitor.agent.device,
      browser: visitor.agent.browser,
      os: visitor.agent.os,
      country: visitor.country,
      city: null,
    };
    const minute = `${visitor.index}:${Math.floor(item.at / 60_000)}`;
    const viewsThisMinute = (minuteCounts.get(minute) ?? 0) + 1;
    minuteCounts.set(minute, viewsThisMinute);
    const step = sessionize(
      live.get(visitor.index) ?? null,
      {
        view: draft,
        visitorKey: visitor.visitorKey,
        newSessionId: seededUuidv7(random, item.at),
        viewsThisMinute,
      },
      rules,
    );
    if (step.ended !== null) finalize(step.ended);
    let session = step.session;
    const view: PageView = {
      ...draft,
      sessionId: session.id,
      visitorKey: visitor.visitorKey,
      seq: step.seq,
      isBot: step.isBot,
      botReasons: step.isBot && !draft.isBot ? [...draft.botReasons, 'rate'] : draft.botReasons,
    };
    views.push(view);
    events.push({ type: 'pageview', id: view.id, view });
    if (step.becameBot) {
      botSessions.add(session.id);
      events.push({
        type: 'botsession',
        id: `${session.id}:bot`,
        botSession: { sessionId: session.id, day: view.day, at: view.at },
      });
    }
    if (step.previousView !== null) {
      const p = step.previousView;
      emitMetric({
        viewId: p.id,
        metric: 'time_on_page',
        value: p.timeOnPageMs,
        sessionId: session.id,
        day: p.day,
        at: p.at,
        path: p.path,
        isBot: p.isBot,
      });
    }
    if (step.persist) emitSummary(sessionSummary(session, false));
    if (!step.isBot) {
      // The browser script's beacon: scroll depth and interactions now, engaged time kept on the session.
      const base = {
        viewId: view.id,
        sessionId: session.id,
        day: view.day,
        at: view.at,
        path: view.path,
        isBot: false,
      };
      if (random.chance(0.35)) emitMetric({ ...base, metric: 'scroll_depth', value: random.int(5, 100) });
      if (random.chance(0.2)) emitMetric({ ...base, metric: 'interactions', value: random.int(1, 15) });
      if (random.chance(0.4)) session = { ...session, lastEngagedMs: random.int(3_000, 180_000) };
    }
    live.set(visitor.index, session);
  }
  sweep(Number.POSITIVE_INFINITY, true);

  // 3. Batches as a worker would write them.
  const batches: EventBatch[] = [];
  for (let i = 0; i < events.length; i += o.batchSize) {
    const chunk = events.slice(i, i + o.batchSize);
    const firstAt = batchTime(chunk[0] as AnonEvent);
    batches.push({ id: seededUuidv7(random, firstAt), events: chunk });
  }

  const sessions = [...stored.values()].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  const conversionList = [...conversions.values()];
  // The rows as the store ends up holding them; the events keep the rows as they were written.
  const held = withBotSessions({ views, metrics, sessions, conversions: conversionList }, botSessions);
  const viewDays = views.map((v) => v.day).sort();
  const from = viewDays[0] ?? dayOfUtc(o.start);
  const to = viewDays[viewDays.length - 1] ?? from;
  const days: Day[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); dayOfUtc(at) <= to; at += DAY_MS) days.push(dayOfUtc(at));
  return {
    options: o,
    from,
    to,
    days,
    requests,
    batches,
    views: held.views,
    metrics: held.metrics,
    sessions,
    conversions: conversionList,
    truth: computeTruth(held),
  };
}

function batchTime(event: AnonEvent): Millis {
  switch (event.type) {
    case 'pageview':
      return event.view.at;
    case 'metric':
      return event.metric.at;
    case 'session':
      return event.session.lastSeenAt;
    case 'botsession':
      return event.botSession.at;
    case 'identify':
      return event.identify.at;
    case 'conversion':
      return event.conversion.at;
  }
}
