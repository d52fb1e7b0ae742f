import type { ReportQuery, Store } from '@anon/core';
import { compareKeyLists } from '@anon/core/adapter';
import { expect } from 'vitest';
import { conversionQuery, DEFAULT_FUNNEL, type ReportExtras, type ReportSet } from './traffic-truth.js';

/** Every report of `store` for `q`, read the same way `TrafficTruth.reports` computes them. */
export async function readReports(
  store: Store,
  q: ReportQuery,
  extras: ReportExtras = {},
): Promise<ReportSet> {
  const [topPages, sessions, conversions, funnel, journeys, referrers, campaigns, devices, bots, aggregates] =
    await Promise.all([
      store.topPages(q),
      store.sessions(q),
      store.conversions(conversionQuery(q)),
      store.funnel(q, extras.funnelSteps ?? DEFAULT_FUNNEL),
      store.journeys({ ...q, maxSteps: extras.maxSteps ?? 5 }),
      store.referrers(q),
      store.campaigns(q),
      store.devices(q),
      store.bots(q),
      store.aggregates(q),
    ]);
  return {
    topPages,
    sessions,
    conversions,
    funnel,
    journeys,
    referrers,
    campaigns,
    devices,
    bots,
    aggregates,
  };
}

/**
 * A report with every non-integer number rounded to 12 significant digits (a database may divide in another
 * order than JavaScript) and journey rows of equal count put in one order (their tie order is not compared).
 */
export function normalizeReport<T>(value: T): T {
  return normalize(value, null) as T;
}

function normalize(value: unknown, key: string | null): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toPrecision(12));
  if (Array.isArray(value)) {
    const items = value.map((v) => normalize(v, null));
    if (key === 'journeys') {
      (items as { steps: string[]; sessions: number }[]).sort(
        (a, b) => b.sessions - a.sessions || compareKeyLists(a.steps, b.steps),
      );
    }
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v, k);
    return out;
  }
  return value;
}

/**
 * Asserts each report in `expected` equals the same report in `actual`, one `expect` per report so a failure
 * names the report (and `label`, e.g. the query).
 */
export function expectReportsEqual(
  actual: Partial<ReportSet>,
  expected: Partial<ReportSet>,
  label = '',
): void {
  for (const name of Object.keys(expected) as (keyof ReportSet)[]) {
    expect(normalizeReport({ [name]: actual[name] }), `${label} ${name}`.trim()).toEqual(
      normalizeReport({ [name]: expected[name] }),
    );
  }
}
