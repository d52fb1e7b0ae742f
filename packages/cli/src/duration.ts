import { UsageError } from './usage-error.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parse `90d`, `30m`, `2h`, `500ms` into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a duration such as 90d, 12h, 30m or 45s (got "${text}")`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** Parse a `YYYY-MM-DD` day. */
export function parseDay(text: string, flag: string): string {
  const at = Date.parse(`${text}T00:00:00Z`);
  // Date.parse rolls 2026-11-31 over to December: a real day reads back unchanged.
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(text) ||
    Number.isNaN(at) ||
    new Date(at).toISOString().slice(0, 10) !== text
  ) {
    throw new UsageError(`${flag} takes a day as YYYY-MM-DD (got "${text}")`);
  }
  return text;
}
