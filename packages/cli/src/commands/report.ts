import type { OverviewFigures, ReportQuery, Store } from '@anon/core';
import { percent, seconds, table } from '../table.js';
import { UsageError } from '../usage-error.js';

export const REPORTS = [
  'overview',
  'pages',
  'entry',
  'exit',
  'countries',
  'sessions',
  'conversions',
  'funnel',
  'journeys',
  'referrers',
  'campaigns',
  'devices',
  'bots',
  'realtime',
] as const;
export const FUNNEL_USAGE = 'funnel takes its steps as arguments: anon report funnel / /pricing /signup';

export type ReportName = (typeof REPORTS)[number];

export function isReportName(name: string): name is ReportName {
  return (REPORTS as readonly string[]).includes(name);
}

/** Run one report against a store; returns the JSON value and its human rendering. */
export async function runReport(
  store: Store,
  name: Exclude<ReportName, 'realtime'>,
  q: ReportQuery,
  steps: string[],
): Promise<{ json: unknown; text: string }> {
  switch (name) {
    case 'overview': {
      const o = await store.overview(q);
      const row = (label: string, f: OverviewFigures) => [
        label,
        f.uniqueVisitors,
        f.sessions,
        f.pageViews,
        f.authenticatedViews,
        f.anonymousViews,
        percent(f.bounceRate),
        seconds(f.avgDurationMs),
        f.botViews,
      ];
      return {
        json: o,
        text: table(
          [
            'day',
            'visitors',
            'sessions',
            'page views',
            'auth',
            'anon',
            'bounce rate',
            'avg duration',
            'bot views',
          ],
          [...o.days.map((d) => row(d.day, d)), row('total', o.total)],
        ),
      };
    }
    case 'entry': {
      const rows = await store.entryPages(q);
      return {
        json: rows,
        text: table(
          ['entry page', 'sessions', 'bounces'],
          rows.map((r) => [r.path, r.sessions, r.bounces]),
        ),
      };
    }
    case 'exit': {
      const rows = await store.exitPages(q);
      return {
        json: rows,
        text: table(
          ['exit page', 'sessions'],
          rows.map((r) => [r.path, r.sessions]),
        ),
      };
    }
    case 'countries': {
      const rows = await store.countries(q);
      return {
        json: rows,
        text: table(
          ['country', 'sessions', 'views'],
          rows.map((r) => [r.country ?? '(unknown)', r.sessions, r.views]),
        ),
      };
    }
    case 'pages': {
      const rows = await store.topPages(q);
      return {
        json: rows,
        text: table(
          ['path', 'views', 'visitors', 'auth', 'anon', 'avg time', 'avg scroll'],
          rows.map((r) => [
            r.path,
            r.views,
            r.uniqueVisitors,
            r.authenticatedViews,
            r.anonymousViews,
            seconds(r.avgTimeOnPageMs),
            r.avgScrollDepth === null ? null : `${Math.round(r.avgScrollDepth)}%`,
          ]),
        ),
      };
    }
    case 'sessions': {
      const s = await store.sessions(q);
      return {
        json: s,
        text: table(
          [
            'sessions',
            'authenticated',
            'anonymous',
            'page views',
            'avg duration',
            'pages/session',
            'bounce rate',
          ],
          [
            [
              s.sessions,
              s.authenticatedSessions,
              s.anonymousSessions,
              s.pageViews,
              seconds(s.avgDurationMs),
              s.pagesPerSession,
              percent(s.bounceRate),
            ],
          ],
        ),
      };
    }
    case 'conversions': {
      const c = await store.conversions(q);
      const head = table(
        ['signups', 'visitor sessions', 'converted sessions', 'conversion rate'],
        [[c.signups, c.visitorSessions, c.convertedSessions, percent(c.conversionRate)]],
      );
      const byLanding = table(
        ['first landing page', 'signups'],
        c.byLandingPage.map((r) => [r.path, r.conversions]),
      );
      const byRef = table(
        ['first referrer', 'signups'],
        c.byReferrer.map((r) => [r.referrerHost ?? '(direct)', r.conversions]),
      );
      return { json: c, text: `${head}\n\n${byLanding}\n\n${byRef}` };
    }
    case 'funnel': {
      if (steps.length === 0) throw new UsageError(FUNNEL_USAGE);
      const rows = await store.funnel(q, steps);
      const first = rows[0]?.sessions ?? 0;
      return {
        json: rows,
        text: table(
          ['step', 'sessions', 'of first'],
          rows.map((r) => [r.step, r.sessions, first > 0 ? percent(r.sessions / first) : null]),
        ),
      };
    }
    case 'journeys': {
      const rows = await store.journeys(q);
      return {
        json: rows,
        text: table(
          ['journey', 'sessions'],
          rows.map((r) => [r.steps.join(' → '), r.sessions]),
        ),
      };
    }
    case 'referrers': {
      const rows = await store.referrers(q);
      return {
        json: rows,
        text: table(
          ['referrer', 'sessions'],
          rows.map((r) => [r.referrerHost ?? '(direct)', r.sessions]),
        ),
      };
    }
    case 'campaigns': {
      const rows = await store.campaigns(q);
      return {
        json: rows,
        text: table(
          ['source', 'medium', 'campaign', 'sessions'],
          rows.map((r) => [r.utmSource ?? '–', r.utmMedium ?? '–', r.utmCampaign ?? '–', r.sessions]),
        ),
      };
    }
    case 'devices': {
      const d = await store.devices(q);
      return {
        json: d,
        text: [
          table(
            ['device', 'sessions'],
            d.devices.map((r) => [r.device, r.sessions]),
          ),
          table(
            ['browser', 'sessions'],
            d.browsers.map((r) => [r.browser ?? '(unknown)', r.sessions]),
          ),
          table(
            ['os', 'sessions'],
            d.os.map((r) => [r.os ?? '(unknown)', r.sessions]),
          ),
        ].join('\n\n'),
      };
    }
    case 'bots': {
      const b = await store.bots(q);
      return {
        json: b,
        text: `${table(['bot views', 'bot sessions'], [[b.views, b.sessions]])}\n\n${table(
          ['path', 'bot views'],
          b.topPaths.map((r) => [r.path, r.views]),
        )}`,
      };
    }
  }
}
