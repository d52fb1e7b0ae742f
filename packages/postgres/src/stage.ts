import type { Queryable } from './client.js';
import type { UnnestColumn } from './sql.js';

/**
 * How a batch's rows reach the statements that write them. Every statement reads a table's rows from a FROM item
 * aliased `u` whose columns are the `UnnestColumn`s' names and types, whichever way they came:
 *
 * - `copy`: `COPY … FROM STDIN` (node-postgres, through `pg-copy-streams`) or `COPY … FROM '/dev/blob'` (PGlite)
 *   into a temporary staging table of the connection (`ON COMMIT DELETE ROWS`: emptied by every commit);
 * - `unnest`: one array parameter per column, `unnest($1::text[], …)`.
 *
 * `copy` is the default: the rows travel as COPY's text format, which the server reads several times faster
 * than array literals and the client writes with a fraction of the work (docs/postgres.md, "Writes").
 */
export type StagingMode = 'copy' | 'unnest';

/** A table's rows as the write statements read them. */
export interface StagedTable<T> {
  /** The staging table's name (without schema: temporary tables live in the connection's own schema). */
  table: string;
  columns: UnnestColumn<T>[];
}

/** What a driver offers for COPY: a node-postgres connection, or PGlite's transaction with its blob option. */
type PgConnection = { query(submittable: unknown): unknown };
type PGliteTx = { query(sql: string, params: unknown[], options: { blob: Blob }): Promise<unknown> };

/** Characters a text value cannot carry as is: NUL (dropped, as `text()` does) and COPY's escapes. */
const SPECIAL = /[\0\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\0': '', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeChar = (c: string) => ESCAPES[c] as string;
const TAB = 9;
const NEWLINE = 10;

/** UTF-8 into a byte array at an offset: Node's `Buffer` where there is one (the fastest), else `TextEncoder`. */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const encoder = new TextEncoder();
const allocate = (size: number): Uint8Array =>
  NodeBuffer ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size);
type FastBuffer = Buffer & { utf8Write?: (s: string, at: number) => number };
const writeUtf8: (buf: Uint8Array, s: string, at: number) => number = NodeBuffer
  ? typeof (NodeBuffer.prototype as FastBuffer).utf8Write === 'function'
    ? // Node's own method behind `buf.write(s, at)`, without its argument checks (the room is ensured).
      (buf, s, at) => (buf as FastBuffer).utf8Write!(s, at)
    : (buf, s, at) => (buf as Buffer).write(s, at)
  : (buf, s, at) => encoder.encodeInto(s, buf.subarray(at)).written;

/**
 * `rows` in COPY's text format, encoded straight into one byte array: a line per row, columns in order separated
 * by tabs, `\N` for null, `t`/`f` for booleans, numbers as JavaScript prints them (exactly what `float8` reads
 * back), text with NUL dropped (as `text()` does) and `\`, tab, newline and carriage return escaped.
 */
export function copyData<T>(columns: UnnestColumn<T>[], rows: readonly T[]): Uint8Array {
  const values = columns.map((c) => c.value);
  const n = values.length;
  let buf = allocate(Math.max(4_096, rows.length * n * 16));
  let at = 0;
  for (const row of rows) {
    for (let i = 0; i < n; i++) {
      let value = values[i]!(row);
      // Room for the longest encoding of the value (3 UTF-8 bytes per UTF-16 unit, doubled by escapes), + tab.
      const need = typeof value === 'string' ? value.length * 6 + 2 : 32;
      if (at + need > buf.length) {
        const next = allocate(Math.max(buf.length * 2, at + need));
        next.set(buf.subarray(0, at));
        buf = next;
      }
      if (value === null || value === undefined) {
        buf[at++] = 92; // \N
        buf[at++] = 78;
      } else if (typeof value === 'boolean') {
        buf[at++] = value ? 116 : 102;
      } else {
        if (typeof value !== 'string') value = String(value);
        else if (SPECIAL.test(value as string))
          value = (value as string).replace(/[\0\\\t\n\r]/g, escapeChar);
        at += writeUtf8(buf, value as string, at);
      }
      buf[at++] = i === n - 1 ? NEWLINE : TAB;
    }
  }
  return buf.subarray(0, at);
}

/** `CREATE TEMP TABLE` of a staging table: the columns' own types, emptied at every commit. */
export function stagingTableSql<T>(staged: StagedTable<T>): string {
  const columns = staged.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  return `CREATE TEMP TABLE IF NOT EXISTS ${staged.table} (${columns}) ON COMMIT DELETE ROWS`;
}

/**
 * What each connection (node-postgres client, PGlite instance) holds of ours: its staging tables (`''`) and the
 * names of its prepared statements. A transaction that fails forgets its connection: the tables may have been
 * created in it and rolled back, or the connection may be another server session than we think.
 */
const sessionState = new WeakMap<object, Set<string>>();

function stateOf(connection: object): Set<string> {
  let state = sessionState.get(connection);
  if (state === undefined) {
    state = new Set();
    sessionState.set(connection, state);
  }
  return state;
}

/** Create the staging tables on this connection if it has not got them yet. */
export async function prepareStaging(
  q: Queryable,
  connection: object,
  tables: StagedTable<never>[],
): Promise<void> {
  const state = stateOf(connection);
  if (state.has('')) return;
  for (const t of tables) await q.query(stagingTableSql(t));
  state.add('');
}

/** After a failed transaction: what the connection held may be gone (or never was on this server session). */
export function forgetStaging(connection: object): void {
  sessionState.delete(connection);
}

/**
 * Run `sql` as the connection's prepared statement `name` (SQL `PREPARE` once per connection, then `EXECUTE`):
 * planned once, not for every batch — its plan is generic, as it reads staging tables, not parameters.
 * `types` are the SQL types of its parameters `$1…`, and `args` their values: integers of ours (a round
 * number), never a value from a batch, as `EXECUTE` takes literals, not bound parameters.
 */
export async function executePrepared<R>(
  q: Queryable,
  connection: object,
  name: string,
  sql: () => string,
  types: string[] = [],
  args: number[] = [],
): Promise<R[]> {
  const state = stateOf(connection);
  if (!state.has(name)) {
    // The server session may have it from before this process forgot (after a failed transaction).
    const known = await q.query('SELECT 1 FROM pg_prepared_statements WHERE name = $1', [name]);
    if (known.rows.length === 0) {
      await q.query(`PREPARE ${name}${types.length === 0 ? '' : `(${types.join(', ')})`} AS ${sql()}`);
    }
    state.add(name);
  }
  for (const a of args) if (!Number.isSafeInteger(a)) throw new TypeError(`not an integer: ${a}`);
  const result = await q.query(`EXECUTE ${name}${args.length === 0 ? '' : `(${args.join(', ')})`}`);
  return result.rows as R[];
}

let copyFrom: ((sql: string) => NodeJS.WritableStream) | null = null;

/** COPY `rows` into the staging table, by the driver's own way. */
export async function copyRows<T>(
  q: Queryable,
  pglite: boolean,
  staged: StagedTable<T>,
  rows: readonly T[],
): Promise<void> {
  if (rows.length === 0) return;
  const data = copyData(staged.columns, rows);
  const columns = staged.columns.map((c) => c.name).join(', ');
  if (pglite) {
    await (q as unknown as PGliteTx).query(`COPY ${staged.table} (${columns}) FROM '/dev/blob'`, [], {
      blob: new Blob([data as Uint8Array<ArrayBuffer>]),
    });
    return;
  }
  // Loaded on first use: only node-postgres needs it (and it needs Node's streams).
  copyFrom ??= (await import('pg-copy-streams')).from as unknown as typeof copyFrom;
  const stream = (q as unknown as PgConnection).query(
    copyFrom!(`COPY ${staged.table} (${columns}) FROM STDIN`),
  ) as NodeJS.WritableStream;
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', () => resolve());
    stream.on('error', reject);
    stream.end(data);
  });
}
