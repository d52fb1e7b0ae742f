import { generateTraffic, type Traffic, type TrafficOptions } from './generate-traffic.js';

/**
 * The traffic a contract suite checks stores with: generated on first use (a suite that is filtered out costs
 * nothing), then the same for every test of the suite. `overrides` are the suite's `traffic` option.
 */
export function contractTraffic(overrides: Partial<TrafficOptions> = {}): () => Traffic {
  let cached: Traffic | null = null;
  return () => {
    cached ??= generateTraffic({ seed: 20260115, visitors: 30, days: 3, ...overrides });
    return cached;
  };
}
