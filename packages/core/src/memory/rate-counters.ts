/**
 * Per-visitor page-view counters for each minute. Only the latest two minutes are kept (a counter expires two
 * minutes after its minute began), so memory follows the visitors of the last minutes, not all time.
 */
export class RateCounters {
  readonly #minutes = new Map<number, Map<string, number>>();
  #latest = Number.NEGATIVE_INFINITY;

  /** Counts one view of `visitorKey` in `minute` and returns the count, this view included. */
  hit(visitorKey: string, minute: number): number {
    if (minute > this.#latest) {
      this.#latest = minute;
      for (const m of this.#minutes.keys()) if (m < minute - 1) this.#minutes.delete(m);
    }
    // A view later than its counter's life counts alone rather than resurrecting an expired minute.
    if (minute < this.#latest - 1) return 1;
    let counts = this.#minutes.get(minute);
    if (counts === undefined) {
      counts = new Map();
      this.#minutes.set(minute, counts);
    }
    const n = (counts.get(visitorKey) ?? 0) + 1;
    counts.set(visitorKey, n);
    return n;
  }

  /** Counters held (for tests of the expiry). */
  get size(): number {
    let n = 0;
    for (const counts of this.#minutes.values()) n += counts.size;
    return n;
  }

  /** The latest minute seen, or -Infinity before the first view. */
  get latestMinute(): number {
    return this.#latest;
  }
}
