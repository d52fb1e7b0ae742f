import { isCalendarDay } from '@anon/core/adapter';
import { postgresError } from './errors.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validate a schema name and return it double-quoted, ready to splice into SQL. */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw postgresError(
      'invalid_config',
      `schema must match ${IDENTIFIER} (lower-case letters, digits, underscores), got ${JSON.stringify(schema)}`,
    );
  }
  return `"${schema}"`;
}

/** Parse a `YYYY-MM-DD` day to epoch days, or null when it is not a real calendar day (core's rule). */
function epochDay(day: unknown): number | null {
  if (!isCalendarDay(day)) return null;
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return Math.round(date.getTime() / 86_400_000);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const dayString = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;

/** A day string checked to be a real `YYYY-MM-DD` calendar day; anything else is an `invalid_input` error. */
export function checkDay(day: unknown, what: string): string {
  if (epochDay(day) === null) {
    throw postgresError('invalid_input', `${what} must be a YYYY-MM-DD day, got ${JSON.stringify(day)}`);
  }
  return day as string;
}

/** The day `n` days after `day` (both `YYYY-MM-DD`, UTC calendar arithmetic). */
export function addDays(day: string, n: number): string {
  const base = epochDay(day);
  if (base === null) throw postgresError('invalid_input', `not a day: ${JSON.stringify(day)}`);
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

/** Column definitions of a multi-row write (`unnest` arrays, or a COPY staging table). */
export interface UnnestColumn<T> {
  name: string;
  /** The column's SQL type (the element type of its array parameter). */
  type: string;
  /** The row's value as it is: a `text` value is cleaned where it is sent (`text()`, or COPY's encoding). */
  value: (row: T) => unknown;
}

/**
 * `unnest(…) AS u(col, …)` over one array parameter per column: the whole set of rows in one statement,
 * every value bound.
 */
export function unnestFrom<T>(columns: UnnestColumn<T>[], rows: T[], p: Params, alias = 'u'): string {
  const args = columns.map((c) =>
    p.add(
      rows.map(c.type === 'text' ? (r) => text(c.value(r) as string | null) : (r) => c.value(r)),
      `${c.type}[]`,
    ),
  );
  return `unnest(${args.join(', ')}) AS ${alias}(${columns.map((c) => c.name).join(', ')})`;
}
