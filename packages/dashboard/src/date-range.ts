import { AnonError, type Day, dayOf, type Millis } from '@anon/core';

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The longest range the dashboard reports on at once: a year, leap day included. */
export const MAX_RANGE_DAYS = 366;

/** The range shown when the request names none: the last 7 days, today included. */
export const DEFAULT_RANGE_DAYS = 7;

/** An inclusive range of days, as every report takes it. */
export interface DateRange {
  from: Day;
  to: Day;
}

/** `day` moved by `n` days (calendar arithmetic on the date itself, so no time zone is involved). */
export function addDays(day: Day, n: number): Day {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysOf(range: DateRange): Day[] {
  const days: Day[] = [];
  for (let day = range.from; day <= range.to; day = addDays(day, 1)) days.push(day);
  return days;
}

function isDay(value: string): boolean {
  // The round trip rejects days that match the pattern but do not exist (2026-02-30).
  return DAY_PATTERN.test(value) && addDays(value, 0) === value;
}

/**
 * The range a request asks for with `?from=YYYY-MM-DD&to=YYYY-MM-DD`. A missing bound defaults to the last
 * `DEFAULT_RANGE_DAYS` days ending today in `timeZone` (or ending at `to`, or starting at `from`). Throws
 * `AnonError('invalid_input')` for a day that does not exist, `from` after `to`, or more than
 * `MAX_RANGE_DAYS` days.
 */
export function parseRange(params: URLSearchParams, now: Millis, timeZone: string): DateRange {
  const fromParam = params.get('from')?.trim() || null;
  const toParam = params.get('to')?.trim() || null;
  for (const [name, value] of [
    ['from', fromParam],
    ['to', toParam],
  ] as const) {
    if (value !== null && !isDay(value)) {
      throw new AnonError('invalid_input', `${name} must be a day as YYYY-MM-DD`, { source: 'dashboard' });
    }
  }
  const span = DEFAULT_RANGE_DAYS - 1;
  const to = toParam ?? (fromParam === null ? dayOf(now, timeZone) : addDays(fromParam, span));
  const from = fromParam ?? addDays(to, -span);
  if (from > to) throw new AnonError('invalid_input', 'from must not be after to', { source: 'dashboard' });
  const days = Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1;
  if (days > MAX_RANGE_DAYS) {
    throw new AnonError('invalid_input', `a range spans at most ${MAX_RANGE_DAYS} days`, {
      source: 'dashboard',
    });
  }
  return { from, to };
}
