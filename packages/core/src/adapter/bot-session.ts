import type { BotReason } from '../types.js';

/**
 * The reasons of a page view flagged because its session became a bot session (re-flagged by a `botsession`
 * event, or written after it): its own reasons with `'rate'` added once, the session having been flagged for
 * what it did rather than for its user agent. Returns a new array.
 */
export function withRateReason(reasons: readonly BotReason[]): BotReason[] {
  return reasons.includes('rate') ? [...reasons] : [...reasons, 'rate'];
}
