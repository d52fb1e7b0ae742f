/** Render rows as an aligned text table; numbers right-aligned. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) =>
    r.map((c) => (c === null ? '–' : typeof c === 'number' ? formatNumber(c) : c)),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [line(headers), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const r of cells) out.push(line(r));
  if (rows.length === 0) out.push('(no rows)');
  return out.join('\n');
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(Math.abs(n) < 10 ? 2 : 1);
}

export function percent(n: number | null): string | null {
  return n === null ? null : `${(n * 100).toFixed(1)}%`;
}

export function seconds(ms: number | null): string | null {
  return ms === null ? null : `${(ms / 1000).toFixed(1)}s`;
}
