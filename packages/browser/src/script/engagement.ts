/** Engaged time of one page, fed with non-decreasing timestamps (`performance.now()`). */
export interface EngagementMeter {
  /** The user did something (pointer, key, scroll, touch) at `now`. */
  act(now: number): void;
  /** The page became visible (`true`) or hidden (`false`) at `now`; becoming visible counts as activity. */
  show(now: number, visible: boolean): void;
  /** Engaged milliseconds up to `now`. */
  read(now: number): number;
}

/**
 * Counts the time during which the page was visible and the user had been active within the last `idleMs`:
 * the measure of the visible instants covered by some `[activity, activity + idleMs)`. The page starting at
 * `now` counts as an activity (a reader starts reading without touching anything).
 */
export function engagementMeter(idleMs: number, now: number, visible: boolean): EngagementMeter {
  let total = 0;
  // Time is accounted up to `mark`; `last` is the latest activity, whose window covers every earlier one's.
  let mark = now;
  let last = now;
  let on = visible;
  const settle = (t: number) => {
    if (on) total += Math.max(0, Math.min(t, last + idleMs) - mark);
    mark = t;
  };
  return {
    act(t) {
      settle(t);
      last = t;
    },
    show(t, visible) {
      settle(t);
      on = visible;
      if (visible) last = t;
    },
    read(t) {
      settle(t);
      return total;
    },
  };
}
