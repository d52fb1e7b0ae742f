import { matchPath } from '../match-path.js';
import { compareKeyLists, compareKeys } from '../memory/code-point-order.js';
import type { CampaignRow, JourneyRow } from '../types.js';

// The row order of the reports (docs/semantics.md, "Reports"): count descending, then the key ascending in
// code-point order, null first; a key of several parts part by part, a list element by element.

/** `[key, count]` pairs: count descending, then key. */
export function compareCounted<K extends string | null>(
  a: readonly [K, number],
  b: readonly [K, number],
): number {
  return b[1] - a[1] || compareKeys(a[0], b[0]);
}

/** `campaigns` rows: sessions descending, then (source, medium, campaign). */
export function compareCampaignRows(a: CampaignRow, b: CampaignRow): number {
  return (
    b.sessions - a.sessions ||
    compareKeyLists([a.utmSource, a.utmMedium, a.utmCampaign], [b.utmSource, b.utmMedium, b.utmCampaign])
  );
}

/** `journeys` rows: sessions descending, then the steps element by element, a prefix first. */
export function compareJourneyRows(a: JourneyRow, b: JourneyRow): number {
  return b.sessions - a.sessions || compareKeyLists(a.steps, b.steps);
}

/**
 * How many funnel steps one session reaches: its page views' paths, in `seq` order, must contain a path
 * matching step 1, then later one matching step 2, and so on (not necessarily adjacent); the earliest match
 * of each step is taken, which finds an ordered match whenever one exists.
 */
export function funnelStepsReached(steps: readonly string[], paths: Iterable<string>): number {
  let reached = 0;
  for (const path of paths) {
    if (reached === steps.length) break;
    if (matchPath(steps[reached] as string, path)) reached += 1;
  }
  return reached;
}
