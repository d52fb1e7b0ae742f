/**
 * Code-point order with null first: the tie order of every report. JavaScript's `<` compares UTF-16 code
 * units, which disagrees with code points when a surrogate pair meets a character in U+E000–U+FFFF.
 */
export function compareText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  let i = 0;
  while (i < a.length && i < b.length) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
  }
  return i >= a.length ? -1 : 1;
}

/** Lists compared element by element, a prefix first (the tie order of journeys). */
export function compareLists(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareText(a[i] as string, b[i] as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Counts per key, as rows ordered by count descending, then key ascending; at most `limit` rows. */
export function countByKey<K extends string | null>(keys: Iterable<K>, limit: number): [K, number][] {
  const counts = new Map<K, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].sort((x, y) => y[1] - x[1] || compareText(x[0], y[0])).slice(0, limit);
}
