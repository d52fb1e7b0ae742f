/**
 * Compares two strings by Unicode code point, as PostgreSQL's `"C"` collation and MongoDB's binary comparison
 * do. JavaScript's `<` compares UTF-16 code units, which puts U+E000–U+FFFF after astral characters; the fix-up
 * below moves surrogates above that range only where the first difference falls.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Code-point order with null first: the tie order of every report key. */
export function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return compareCodePoints(a, b);
}

/** Element-wise {@link compareKeys}; a prefix comes first. */
export function compareKeyLists(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareKeys(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
