const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** `12,345`. */
export function formatCount(n: number): string {
  return integer.format(n);
}

/** `2.4`, for averages such as pages per session; `–` when unknown. */
export function formatDecimal(n: number | null): string {
  return n === null ? '–' : decimal.format(n);
}

/** A ratio in [0, 1] as `42.5%`; `–` when unknown. */
export function formatPercent(ratio: number | null): string {
  return ratio === null ? '–' : `${decimal.format(ratio * 100)}%`;
}

/** A duration as `48s`, `3m 05s` or `1h 02m`; `–` when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026-01-15` as `Jan 15`. */
export function formatDay(day: string): string {
  const month = MONTHS[Number(day.slice(5, 7)) - 1] ?? day.slice(5, 7);
  return `${month} ${Number(day.slice(8, 10))}`;
}
