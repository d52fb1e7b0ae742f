// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point of it
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A stored value made safe to print: control characters (ESC, BEL, CSI, line breaks) become a visible `\u001b`
 * escape, so a value written by a visitor can neither drive the operator's terminal nor forge a table row.
 */
export function printable(value: string): string {
  return value.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Render rows as an aligned text table; numbers right-aligned, text escaped with `printable`. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) =>
    r.map((c) => (c === null ? '–' : typeof c === 'number' ? formatNumber(c) : printable(c))),
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
