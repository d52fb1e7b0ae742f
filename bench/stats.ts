/** Small numeric helpers shared by every section of the bench. */

/** The `p`-th percentile (0–100) of `values`, nearest-rank on a sorted copy; NaN for an empty list. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Median of `values` (NaN when empty). */
export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

/** `value` rounded to `digits` decimals, for JSON that a person reads. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Nanoseconds from `process.hrtime.bigint()` readings, as microseconds. */
export function microsSince(start: bigint, end: bigint = process.hrtime.bigint()): number {
  return Number(end - start) / 1_000;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A growable list of samples kept in a typed array (millions of lag samples without boxed numbers). */
export class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** A view of the samples taken so far. */
  values(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}
