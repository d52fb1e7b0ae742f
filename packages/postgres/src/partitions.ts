import { inTransaction, type PostgresClient, rowsOf } from './client.js';
import { advisoryLock } from './locks.js';
import { addDays, checkDay } from './sql.js';

/** The tables partitioned by `day`, one partition per day each. */
export const PARTITIONED = ['page_views', 'page_metrics', 'page_visitors'] as const;
export type PartitionedTable = (typeof PARTITIONED)[number];

/** `page_views_p20260115`: the partition of `table` for `day` (a checked `YYYY-MM-DD`). */
export function partitionName(table: PartitionedTable, day: string): string {
  return `${table}_p${day.replaceAll('-', '')}`;
}

/** The day of a partition from its name, or null for a table that is not one of ours. */
export function partitionDay(name: string): string | null {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/**
 * Creates the day partitions a write needs before it runs. Days known to exist are cached per store; a
 * cache miss checks the catalog without locks and only creates what is really missing, in its own short
 * transaction under an advisory lock (creating a partition locks the parent table, so it never happens
 * inside a batch's transaction).
 */
export class Partitions {
  readonly #client: PostgresClient;
  readonly #schema: string;
  readonly #quoted: string;
  readonly #ahead: number;
  readonly #known = new Set<string>();

  constructor(client: PostgresClient, schema: string, quoted: string, ahead: number) {
    this.#client = client;
    this.#schema = schema;
    this.#quoted = quoted;
    this.#ahead = ahead;
  }

  /** Make sure every day in `days`, and `partitionsAhead` days after the latest, has its partitions. */
  async ensure(days: Iterable<string>): Promise<void> {
    const wanted = new Set<string>();
    let latest: string | null = null;
    for (const day of days) {
      checkDay(day, 'day');
      wanted.add(day);
      if (latest === null || day > latest) latest = day;
    }
    if (latest !== null) {
      for (let i = 1; i <= this.#ahead; i++) {
        const ahead = addDays(latest, i);
        // Partition names carry a four-digit year: nothing is created past 9999-12-31.
        if (ahead.length === 10) wanted.add(ahead);
      }
    }
    const unknown = [...wanted].filter((d) => !this.#known.has(d)).sort();
    if (unknown.length === 0) return;

    const missing = await this.#missing(this.#client, unknown);
    for (const d of unknown) if (!missing.has(d)) this.#known.add(d);
    if (missing.size === 0) return;

    await inTransaction(this.#client, async (q) => {
      const [lockSql, lockParams] = advisoryLock(this.#schema, 'partitions');
      await q.query(lockSql, lockParams);
      for (const day of missing) {
        const next = addDays(day, 1);
        for (const table of PARTITIONED) {
          await q.query(
            `CREATE TABLE IF NOT EXISTS ${this.#quoted}.${partitionName(table, day)} PARTITION OF ${this.#quoted}.${table}
             FOR VALUES FROM ('${day}') TO ('${next}')`,
          );
        }
      }
    });
    for (const d of missing) this.#known.add(d);
  }

  /** Forget what is cached (after a purge dropped partitions, or a write found one missing). */
  forget(days?: Iterable<string>): void {
    if (days === undefined) this.#known.clear();
    else for (const d of days) this.#known.delete(d);
  }

  /** Days among `days` (checked) for which at least one partitioned table lacks its partition. */
  async #missing(client: PostgresClient, days: string[]): Promise<Set<string>> {
    const names = days.flatMap((d) => PARTITIONED.map((t) => partitionName(t, d)));
    const rows = await rowsOf<{ name: string }>(
      client,
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
      [this.#schema, names],
    );
    const present = new Set(rows.map((r) => r.name));
    return new Set(days.filter((d) => PARTITIONED.some((t) => !present.has(partitionName(t, d)))));
  }
}
