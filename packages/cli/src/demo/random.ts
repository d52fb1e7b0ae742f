/** mulberry32: a tiny seeded PRNG, so the same seed drives the same traffic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** Integer in [lo, hi]. */
export function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** Zipf-like pick: item i with weight 1 / (i + 1). */
export function popular<T>(rand: () => number, items: readonly T[]): T {
  const total = items.reduce((s, _, i) => s + 1 / (i + 1), 0);
  let r = rand() * total;
  for (let i = 0; i < items.length; i++) {
    r -= 1 / (i + 1);
    if (r <= 0) return items[i] as T;
  }
  return items[items.length - 1] as T;
}
