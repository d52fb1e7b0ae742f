import type { PageView, ReportQuery, Session } from '@anon/core';
import { expect } from 'vitest';
import {
  batchOf,
  conversionEvent,
  DAY_MS,
  FIXTURE_NOW,
  fixtureConversion,
  fixtureSession,
  fixtureView,
  fixtureVisit,
  pageViewEvent,
  sessionEvent,
} from './fixtures.js';
import type { Traffic } from './generate-traffic.js';
import type { StoreHarness } from './harness.js';
import { staleBatches } from './stale-summaries.js';
import { computeTruth, DEFAULT_FUNNEL, type TruthData } from './traffic-truth.js';

// Session summaries reach the store only on the 1st and every 5th view and at finalization; every page view is
// written. These checks write sessions whose summaries are stale (only the first view's summary, or none) and
// require the session-level reports to equal a recomputation from the stored page views at that moment.

/** Registers a test with the contract's timeout (the contract decides whether the reports part runs). */
export type RegisterCheck = (label: string, body: () => Promise<void>, ms: number) => void;

const QUERIES = (from: string, to: string): [string, ReportQuery][] => [
  ['whole range', { from, to, limit: 1_000 }],
  ['with bots', { from, to, limit: 1_000, includeBots: true }],
  ['first day', { from, to: from, limit: 1_000 }],
  ['last day', { from: to, to, limit: 1_000 }],
  ['landing pattern', { from, to, path: '/p*', limit: 1_000 }],
];

/** Funnels every live check reads: the default, a repeated step, patterns (one matching every path). */
const FUNNELS: string[][] = [
  DEFAULT_FUNNEL,
  ['/pricing', '/docs', '/pricing'],
  ['/p*', '/*'],
  ['/posts/*', '/about', '/signup'],
];

/**
 * Compares every session-level report of `store` (`sessions`, `journeys`, `overview`, `entryPages`,
 * `exitPages`, `countries`, `referrers`, `campaigns`, `devices`, `bots`, `funnel`, `conversions`) with the
 * oracle over `data`, for every query.
 */
async function expectLive(h: StoreHarness, data: TruthData, from: string, to: string): Promise<void> {
  const truth = computeTruth(data);
  for (const [label, q] of QUERIES(from, to)) {
    expect(await h.store.sessions(q), `sessions: ${label}`).toEqual(truth.sessions(q));
    expect(await h.store.referrers(q), `referrers: ${label}`).toEqual(truth.referrers(q));
    expect(await h.store.campaigns(q), `campaigns: ${label}`).toEqual(truth.campaigns(q));
    expect(await h.store.devices(q), `devices: ${label}`).toEqual(truth.devices(q));
    expect(await h.store.bots(q), `bots: ${label}`).toEqual(truth.bots(q));
    expect(await h.store.conversions(q), `conversions: ${label}`).toEqual(truth.conversions(q));
    for (const steps of FUNNELS) {
      expect(await h.store.funnel(q, steps), `funnel ${steps.join(' > ')}: ${label}`).toEqual(
        truth.funnel(q, steps),
      );
    }
    expect(await h.store.overview(q), `overview: ${label}`).toEqual(truth.overview(q));
    expect(await h.store.entryPages(q), `entryPages: ${label}`).toEqual(truth.entryPages(q));
    expect(await h.store.exitPages(q), `exitPages: ${label}`).toEqual(truth.exitPages(q));
    expect(await h.store.countries(q), `countries: ${label}`).toEqual(truth.countries(q));
    for (const maxSteps of [5, 2]) {
      expect(await h.store.journeys({ ...q, maxSteps }), `journeys ${maxSteps}: ${label}`).toEqual(
        truth.journeys({ ...q, maxSteps }),
      );
    }
  }
}

/** Every report a purge must leave as it was (all but `funnel` and `journeys`), for each query of `QUERIES`. */
async function readPreserved(h: StoreHarness, from: string, to: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [label, q] of QUERIES(from, to)) {
    out[`sessions: ${label}`] = await h.store.sessions(q);
    out[`referrers: ${label}`] = await h.store.referrers(q);
    out[`campaigns: ${label}`] = await h.store.campaigns(q);
    out[`devices: ${label}`] = await h.store.devices(q);
    out[`bots: ${label}`] = await h.store.bots(q);
    out[`conversions: ${label}`] = await h.store.conversions(q);
    out[`entryPages: ${label}`] = await h.store.entryPages(q);
    out[`exitPages: ${label}`] = await h.store.exitPages(q);
    out[`countries: ${label}`] = await h.store.countries(q);
    out[`topPages: ${label}`] = await h.store.topPages(q);
  }
  return out;
}

/** The summary the engine writes on a session's first view: one page, no duration. */
function firstViewSummary(session: Session, landing: PageView): Session {
  return { ...session, lastSeenAt: landing.at, durationMs: 0, pageViews: 1, exitPath: landing.path };
}

/**
 * The live-report checks of the reports contract: every session-level report read mid-session equals the
 * brute-force recomputation from the stored page views (`liveSessionsOf` in traffic-truth.ts).
 */
export function registerLiveReportChecks(
  check: RegisterCheck,
  h: () => StoreHarness,
  traffic: () => Traffic,
  timeout: number,
): void {
  check(
    'session reports read mid-session equal a recomputation from the stored page views',
    async () => {
      const midnight = FIXTURE_NOW + DAY_MS / 2;
      const day2 = FIXTURE_NOW + DAY_MS;
      // Three pages, summary of the first view only: the "live 3-page session". A returning user who
      // logs in on the third view (no conversion names the session), so it is no longer a visitor session.
      const live = fixtureSession({
        landingPath: '/pricing',
        country: 'FR',
        referrer: 'https://news.example/item',
        referrerHost: 'news.example',
        utmSource: 'hn',
        device: 'mobile',
        browser: 'Safari',
        os: 'iOS',
      });
      const liveViews = fixtureVisit(live, ['/pricing', '/docs', '/pricing']).map((v, i) => ({
        ...v,
        country: 'FR',
        ...(i === 2 ? { userId: 'user-returning', authenticated: true } : {}),
      }));
      // No summary at all yet, three pages, logged in from its second view on (it signs up: a conversion names
      // it). Its source and device are its landing view's, not those of a later view.
      const unsummarized = fixtureSession({
        startedAt: FIXTURE_NOW + 1_000,
        landingPath: '/posts/:id',
        referrer: 'https://search.example/',
        referrerHost: 'search.example',
        utmSource: 'newsletter',
        utmMedium: 'email',
        utmCampaign: 'launch',
        device: 'tablet',
        browser: 'Chrome',
        os: 'Android',
      });
      const unsummarizedViews = fixtureVisit(unsummarized, ['/posts/:id', '/posts/:id', '/about']).map(
        (v, i) =>
          i === 0
            ? { ...v, country: 'CA' }
            : {
                ...v,
                userId: 'user-live',
                authenticated: true,
                ...(i === 1 ? { referrerHost: 'other.example', utmSource: 'other', browser: 'Edge' } : {}),
              },
      );
      const conversion = fixtureConversion('user-live', [unsummarized], FIXTURE_NOW + 200_000);
      // A bounce, summary in step with its only view.
      const bounce = fixtureSession({ startedAt: FIXTURE_NOW + 2_000, landingPath: '/' });
      const bounceViews = fixtureVisit(bounce, ['/']);
      // Human on its first view, flagged bot (by rate) on its later views; summary of the first view only.
      const turnedBot = fixtureSession({ startedAt: FIXTURE_NOW + 3_000, landingPath: '/p' });
      const turnedBotViews = fixtureVisit(turnedBot, ['/p', '/q', '/r'], 100).map((v, i) =>
        i === 0 ? v : { ...v, isBot: true, botReasons: ['rate' as const] },
      );
      // Crosses midnight without a summary: counted on its landing view's day.
      const overnight = fixtureSession({ startedAt: midnight - 60_000, landingPath: '/pricing' });
      const overnightViews = fixtureVisit(overnight, ['/pricing', '/signup'], 120_000);
      // A session of the second day with no summary and one view.
      const late = fixtureSession({ startedAt: day2 + 5_000, landingPath: '/late' });
      const lateViews = fixtureVisit(late, ['/late']);
      // Unsessioned (DNT) views: never a session.
      const unsessioned = [0, 1].map((i) =>
        fixtureView({ sessionId: null, visitorKey: null, seq: 0, at: FIXTURE_NOW + 10 + i, path: '/dnt' }),
      );
      const views = [
        ...liveViews,
        ...unsummarizedViews,
        ...bounceViews,
        ...turnedBotViews,
        ...overnightViews,
        ...lateViews,
        ...unsessioned,
      ];
      const sessions = [
        firstViewSummary(live, liveViews[0]!),
        firstViewSummary(bounce, bounceViews[0]!),
        firstViewSummary(turnedBot, turnedBotViews[0]!),
      ];
      const from = live.day;
      const to = late.day;
      // Views land in two batches, the summaries with the first, as a worker writes them. Between the two,
      // summaries of sessions with no stored view yet (bounce, turnedBot) and a session with one view count.
      await h().store.write(
        batchOf([...views.slice(0, 4).map(pageViewEvent), ...sessions.map(sessionEvent)]),
      );
      await expectLive(h(), { views: views.slice(0, 4), metrics: [], sessions, conversions: [] }, from, to);
      await h().store.write(batchOf([...views.slice(4).map(pageViewEvent), conversionEvent(conversion)]));

      const whole = await h().store.sessions({ from, to: from });
      // Hand-checked, so the oracle itself is pinned: live (3 views, 2 min, authenticated), unsummarized
      // (3 views, 2 min, authenticated), bounce, overnight (2 views, 2 min); turnedBot is a bot session.
      expect(whole).toEqual({
        sessions: 4,
        authenticatedSessions: 2,
        anonymousSessions: 2,
        pageViews: 9,
        bounces: 1,
        avgDurationMs: 360_000 / 4,
        pagesPerSession: 9 / 4,
        bounceRate: 1 / 4,
      });
      const day1 = { from, to: from };
      expect(await h().store.referrers(day1)).toEqual([
        { referrerHost: null, sessions: 2 },
        { referrerHost: 'news.example', sessions: 1 },
        { referrerHost: 'search.example', sessions: 1 },
      ]);
      expect(await h().store.campaigns(day1)).toEqual([
        { utmSource: 'hn', utmMedium: null, utmCampaign: null, sessions: 1 },
        { utmSource: 'newsletter', utmMedium: 'email', utmCampaign: 'launch', sessions: 1 },
      ]);
      expect(await h().store.devices(day1)).toEqual({
        devices: [
          { device: 'desktop', sessions: 2 },
          { device: 'mobile', sessions: 1 },
          { device: 'tablet', sessions: 1 },
        ],
        browsers: [
          { browser: 'Firefox', sessions: 2 },
          { browser: 'Chrome', sessions: 1 },
          { browser: 'Safari', sessions: 1 },
        ],
        os: [
          { os: 'Linux', sessions: 2 },
          { os: 'Android', sessions: 1 },
          { os: 'iOS', sessions: 1 },
        ],
      });
      expect((await h().store.bots(day1)).sessions).toBe(1);
      // Visitor sessions: unsummarized (named by the sign-up), bounce and overnight; not live (logged in).
      const conversions = await h().store.conversions(day1);
      expect([
        conversions.visitorSessions,
        conversions.convertedSessions,
        conversions.conversionRate,
      ]).toEqual([3, 1, 1 / 3]);
      expect(await h().store.funnel(day1, ['/pricing', '/docs', '/pricing'])).toEqual([
        { step: '/pricing', sessions: 2 },
        { step: '/docs', sessions: 1 },
        { step: '/pricing', sessions: 1 },
      ]);
      await expectLive(h(), { views, metrics: [], sessions, conversions: [conversion] }, from, to);
      const overview = await h().store.overview({ from, to });
      // Day 1: 13 stored views, 2 of them bot views; 4 human sessions, one running past midnight, so its
      // second view counts on day 2 while the session counts on day 1.
      expect(overview.days.map((d) => [d.day, d.pageViews, d.botViews, d.sessions])).toEqual([
        [from, 11, 2, 4],
        [to, 2, 0, 1],
      ]);
      expect(overview.total.uniqueVisitors).toBe(
        overview.days[0]!.uniqueVisitors + overview.days[1]!.uniqueVisitors,
      );
      expect(await h().store.exitPages({ from, to: from })).toEqual([
        { path: '/', sessions: 1 },
        { path: '/about', sessions: 1 },
        { path: '/pricing', sessions: 1 },
        { path: '/signup', sessions: 1 },
      ]);
      expect(await h().store.countries({ from, to: from })).toEqual([
        { country: null, sessions: 2, views: 3 },
        { country: 'CA', sessions: 1, views: 3 },
        { country: 'FR', sessions: 1, views: 3 },
      ]);

      // Finalization converges: with every final summary written, the figures do not move.
      const finals: Session[] = [
        [live, liveViews],
        [unsummarized, unsummarizedViews],
        [bounce, bounceViews],
        [turnedBot, turnedBotViews],
        [overnight, overnightViews],
        [late, lateViews],
      ].map(([s, vs]) => {
        const list = vs as PageView[];
        const last = list[list.length - 1]!;
        return {
          ...(s as Session),
          userId: list.find((v) => v.userId !== null)?.userId ?? null,
          isBot: list.some((v) => v.isBot),
          lastSeenAt: last.at,
          endedAt: last.at,
          durationMs: last.at - (s as Session).startedAt,
          pageViews: list.length,
          exitPath: last.path,
        };
      });
      await h().store.write(batchOf(finals.map(sessionEvent)));
      expect(await h().store.sessions({ from, to: from })).toEqual(whole);
      await expectLive(h(), { views, metrics: [], sessions: finals, conversions: [conversion] }, from, to);
    },
    timeout,
  );

  check(
    'a session purged while its summary lags its page views reads the same in every report after the purge',
    async () => {
      // Summaries of the first view only: one session logs in on its second view (a returning user, named by
      // no conversion), one turns bot by rate on its second view; both summaries still say anonymous human.
      const loggedIn = fixtureSession({
        landingPath: '/pricing',
        referrerHost: 'news.example',
        device: 'mobile',
      });
      const loggedInViews = fixtureVisit(loggedIn, ['/pricing', '/docs', '/about']).map((v, i) =>
        i === 0 ? v : { ...v, userId: 'user-purged-live', authenticated: true },
      );
      const turnedBot = fixtureSession({
        startedAt: FIXTURE_NOW + 1_000,
        landingPath: '/p',
        utmSource: 'ads',
      });
      const turnedBotViews = fixtureVisit(turnedBot, ['/p', '/q'], 100).map((v, i) =>
        i === 0 ? v : { ...v, isBot: true, botReasons: ['rate' as const] },
      );
      const bounce = fixtureSession({ startedAt: FIXTURE_NOW + 2_000, landingPath: '/' });
      const bounceViews = fixtureVisit(bounce, ['/']);
      const views = [...loggedInViews, ...turnedBotViews, ...bounceViews];
      const sessions = [
        firstViewSummary(loggedIn, loggedInViews[0]!),
        firstViewSummary(turnedBot, turnedBotViews[0]!),
        firstViewSummary(bounce, bounceViews[0]!),
      ];
      await h().store.write(batchOf([...views.map(pageViewEvent), ...sessions.map(sessionEvent)]));
      const day = loggedIn.day;
      await expectLive(h(), { views, metrics: [], sessions, conversions: [] }, day, day);
      const conversions = await h().store.conversions({ from: day, to: day });
      // The logged-in session is no visitor session (its views carry a user id), whatever its summary says.
      expect(conversions.visitorSessions).toBe(1);
      expect((await h().store.bots({ from: day, to: day })).sessions).toBe(1);
      const before = await readPreserved(h(), day, day);
      // Every summary says anonymous: the anonymous cut-off removes all three, folding each into the rollups.
      expect(await h().store.purge(FIXTURE_NOW + DAY_MS)).toEqual({ sessions: 3, pageViews: 6, metrics: 0 });
      const after = await readPreserved(h(), day, day);
      for (const key of Object.keys(before))
        expect(after[key], `${key}, after the purge`).toEqual(before[key]);
    },
    timeout,
  );

  check(
    'reports of generated traffic with stale summaries equal the recomputation from its page views',
    async () => {
      const t = traffic();
      // Keep every event but the summaries after a session's first: odd sessions keep none at all.
      const { batches, sessions } = staleBatches(t);
      for (const batch of batches) await h().store.write(batch);
      await expectLive(
        h(),
        { views: t.views, metrics: t.metrics, sessions, conversions: t.conversions },
        t.from,
        t.to,
      );
    },
    timeout,
  );
}
