import type { PageView, ReportQuery, Session } from '@anon/core';
import { expect } from 'vitest';
import {
  batchOf,
  DAY_MS,
  FIXTURE_NOW,
  fixtureSession,
  fixtureView,
  fixtureVisit,
  pageViewEvent,
  sessionEvent,
} from './fixtures.js';
import type { Traffic } from './generate-traffic.js';
import type { StoreHarness } from './harness.js';
import { staleBatches } from './stale-summaries.js';
import { computeTruth, type TruthData } from './traffic-truth.js';

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

/** Compares the session-level reports (`sessions`, `journeys`, `overview`, `entryPages`, `exitPages`, `countries`) of `store` with the oracle over `data`, for every query. */
async function expectLive(h: StoreHarness, data: TruthData, from: string, to: string): Promise<void> {
  const truth = computeTruth(data);
  for (const [label, q] of QUERIES(from, to)) {
    expect(await h.store.sessions(q), `sessions: ${label}`).toEqual(truth.sessions(q));
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

/** The summary the engine writes on a session's first view: one page, no duration. */
function firstViewSummary(session: Session, landing: PageView): Session {
  return { ...session, lastSeenAt: landing.at, durationMs: 0, pageViews: 1, exitPath: landing.path };
}

/**
 * The live-report checks of the reports contract: `sessions()` and `journeys()` read mid-session equal the
 * brute-force recomputation from the stored page views (`liveSessionsOf` in traffic-truth.ts).
 */
export function registerLiveReportChecks(
  check: RegisterCheck,
  h: () => StoreHarness,
  traffic: () => Traffic,
  timeout: number,
): void {
  check(
    'sessions and journeys read mid-session equal a recomputation from the stored page views',
    async () => {
      const midnight = FIXTURE_NOW + DAY_MS / 2;
      const day2 = FIXTURE_NOW + DAY_MS;
      // Three pages, summary of the first view only: the "live 3-page session".
      const live = fixtureSession({ landingPath: '/pricing', country: 'FR' });
      const liveViews = fixtureVisit(live, ['/pricing', '/docs', '/pricing']).map((v) => ({
        ...v,
        country: 'FR',
      }));
      // No summary at all yet, two pages, logged in from its second view on.
      const unsummarized = fixtureSession({ startedAt: FIXTURE_NOW + 1_000, landingPath: '/posts/:id' });
      const unsummarizedViews = fixtureVisit(unsummarized, ['/posts/:id', '/posts/:id', '/about']).map(
        (v, i) => (i === 0 ? { ...v, country: 'CA' } : { ...v, userId: 'user-live', authenticated: true }),
      );
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
      // Views land in two batches, the summaries with the first, as a worker writes them.
      await h().store.write(
        batchOf([...views.slice(0, 4).map(pageViewEvent), ...sessions.map(sessionEvent)]),
      );
      await h().store.write(batchOf(views.slice(4).map(pageViewEvent)));

      const from = live.day;
      const to = late.day;
      const whole = await h().store.sessions({ from, to: from });
      // Hand-checked, so the oracle itself is pinned: live (3 views, 2 min), unsummarized (3 views, 2 min,
      // authenticated), bounce, overnight (2 views, 2 min); turnedBot is a bot session.
      expect(whole).toEqual({
        sessions: 4,
        authenticatedSessions: 1,
        anonymousSessions: 3,
        pageViews: 9,
        bounces: 1,
        avgDurationMs: 360_000 / 4,
        pagesPerSession: 9 / 4,
        bounceRate: 1 / 4,
      });
      await expectLive(h(), { views, metrics: [], sessions, conversions: [] }, from, to);
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
