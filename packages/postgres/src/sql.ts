import { AnonError } from '@anon/core';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validate a schema name and return it double-quoted, ready to splice into SQL. */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new AnonError(
      'invalid_config',
      `schema must match ${IDENTIFIER} (lower-case letters, digits, underscores), got ${JSON.stringify(schema)}`,
      { source: 'postgres' },
    );
  }
  return `"${schema}"`;
}

/** Parse a `YYYY-MM-DD` day to epoch days, or null when it is not a real calendar day. */
function epochDay(day: unknown): number | null {
  if (typeof day !== 'string') return null;
  const m = DAY.exec(day);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return Math.round(date.getTime() / 86_400_000);
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const dayString = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;

/**
 * A report bound as a real calendar day with the same meaning under string comparison, which is how days
 * compare in the memory store: `'2026-02-30'` as a lower bound is `'2026-03-01'`, as an upper bound
 * `'2026-02-28'`. Null when no real day lies on that side (an upper bound of `'0000-…'`, a lower one past 9999).
 */
export function boundDay(day: unknown, side: 'from' | 'to', what: string): string | null {
  const m = typeof day === 'string' ? DAY.exec(day) : null;
  if (!m) {
    throw new AnonError('invalid_input', `${what} must be a YYYY-MM-DD day, got ${JSON.stringify(day)}`, {
      source: 'postgres',
    });
  }
  if (epochDay(day) !== null) return day as string;
  let [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (side === 'from') {
    if (y < 1) return '0001-01-01';
    if (mo < 1) [mo, d] = [1, 1];
    else if (mo > 12) [y, mo, d] = [y + 1, 1, 1];
    else if (d < 1) d = 1;
    else if (d > daysInMonth(y, mo)) [y, mo, d] = mo === 12 ? [y + 1, 1, 1] : [y, mo + 1, 1];
    return y > 9999 ? null : dayString(y, mo, d);
  }
  if (y < 1) return null;
  if (mo < 1) [y, mo, d] = [y - 1, 12, 31];
  else if (mo > 12) [mo, d] = [12, 31];
  else if (d < 1) [y, mo] = mo === 1 ? [y - 1, 12] : [y, mo - 1];
  if (y < 1) return null;
  return dayString(y, mo, Math.min(d < 1 ? 31 : d, daysInMonth(y, mo)));
}

/** A day string checked to be a real `YYYY-MM-DD` calendar day; anything else is an `invalid_input` error. */
export function checkDay(day: unknown, what: string): string {
  if (epochDay(day) === null) {
    throw new AnonError('invalid_input', `${what} must be a YYYY-MM-DD day, got ${JSON.stringify(day)}`, {
      source: 'postgres',
    });
  }
  return day as string;
}

/** The day `n` days after `day` (both `YYYY-MM-DD`, UTC calendar arithmetic). */
export function addDays(day: string, n: number): string {
  const base = epochDay(day);
  if (base === null)
    throw new AnonError('invalid_input', `not a day: ${JSON.stringify(day)}`, { source: 'postgres' });
  const date = new Date((base + n) * 86_400_000);
  return dayString(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
}

/** SQL turning a timestamptz column into epoch milliseconds (a JS number on both drivers). */
export function ms(column: string): string {
  return `(extract(epoch from ${column}) * 1000)::float8`;
}

/** SQL turning epoch milliseconds (float8) into a timestamptz; exact for integer milliseconds. */
export function ts(expr: string): string {
  return `to_timestamp(${expr} / 1000)`;
}

/** SQL rendering a date column as `YYYY-MM-DD` text (never a driver `Date` in the local zone). */
export function dayText(column: string): string {
  return `to_char(${column}, 'YYYY-MM-DD')`;
}

/** Text as Postgres can store it: NUL is the one character a `text` column rejects, so it is dropped. */
export function text(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value);
  return s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
}

/** Bound parameters of one statement: `add` returns the placeholder (`$3::text`) for a value. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}

/**
 * A path filter: exact equality, or `LIKE` when the pattern has `*` (any run of characters, `/` included).
 * The pattern's own `%`, `_` and `\` are escaped so they match literally.
 */
export function pathCondition(column: string, pattern: string, p: Params): string {
  const value = text(pattern) ?? '';
  if (!value.includes('*')) return `${column} = ${p.add(value, 'text')}`;
  const like = value.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%');
  return `${column} LIKE ${p.add(like, 'text')}`;
}

/** Column definitions for an `unnest($1::type[], …)` multi-row insert. */
export interface UnnestColumn<T> {
  name: string;
  /** Element type of the array parameter. */
  type: string;
  value: (row: T) => unknown;
}

/**
 * `unnest(…) AS u(col, …)` over one array parameter per column: the whole set of rows in one statement,
 * every value bound.
 */
export function unnestFrom<T>(columns: UnnestColumn<T>[], rows: T[], p: Params, alias = 'u'): string {
  const args = columns.map((c) =>
    p.add(
      rows.map((r) => c.value(r)),
      `${c.type}[]`,
    ),
  );
  return `unnest(${args.join(', ')}) AS ${alias}(${columns.map((c) => c.name).join(', ')})`;
}
