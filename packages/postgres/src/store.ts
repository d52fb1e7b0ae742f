import type {
  BotsReport,
  CampaignRow,
  ConversionsReport,
  DailyAggregate,
  Day,
  DevicesReport,
  EraseResult,
  EventBatch,
  FunnelStepRow,
  JourneyRow,
  Millis,
  PurgeOptions,
  PurgeResult,
  ReferrerRow,
  ReportQuery,
  Session,
  SessionsReport,
  Store,
  StoreSettings,
  TopPageRow,
  WriteResult,
} from '@anon/core';
import {
  checkBatch,
  checkClaimDailyJob,
  checkEraseUser,
  checkFunnelSteps,
  checkMaxSteps,
  checkPurge,
  checkQuery as checkReportQuery,
  checkStoreSettings,
  checkVisitorSessions,
  DEFAULT_STORE_SETTINGS,
} from '@anon/core/adapter';
import { inTransaction, isPGlite, type PostgresClient, type Queryable, rowsOf } from './client.js';
import { claimDailyJob } from './daily-jobs.js';
import { eraseUser } from './erase.js';
import { isRetryable, postgresError, storeError } from './errors.js';
import { advisoryLockKeys } from './locks.js';
import { type MigrateResult, migrate } from './migrate.js';
import { Partitions } from './partitions.js';
import { countPurge, purge } from './purge.js';
import { Reports } from './reports.js';
import { SESSION_SELECT } from './rows.js';
import { quoteSchema, text, ts } from './sql.js';
import type { StagingMode } from './stage.js';
import { batchParts, type WriteOptions, writeBatch } from './write.js';

/** Options of `postgresStore`. */
export interface PostgresStoreOptions {
  /** Schema that holds every table (created by `migrate()`); lower-case letters, digits and `_`. @default 'anon' */
  schema?: string;
  /** Day partitions created ahead of the latest day written (and of today, by `migrate()`). @default 7 */
  partitionsAhead?: number;
  /** Run `migrate()` before the first read or write, once per store. @default true */
  autoMigrate?: boolean;
  /**
   * How a batch's rows reach the server: `'copy'` (COPY into a temporary staging table of the connection, then
   * one set-based statement) or `'unnest'` (one array parameter per column). @default 'copy'
   */
  staging?: StagingMode;
}

/** A `Store` on Postgres or PGlite, with its schema management. */
export interface PostgresStore extends Store {
  /**
   * Take the tracker's `timeZone` (the tracker calls it at start): "today" at `migrate` and the purge's cut-off
   * day for unique visitors are counted in it. Until then: UTC. Call it yourself before `migrate` or `purge`
   * when no tracker runs in the process (a script, the CLI).
   */
  init(settings: StoreSettings): void;
  /** The schema this store uses. */
  readonly schema: string;
  /** True for exactly one caller per (`job`, `day`) across every store on this schema (table `daily_jobs`). */
  claimDailyJob(job: string, day: Day): Promise<boolean>;
  /** Apply pending migrations (safe to call twice or from many processes at once) and create today's partitions. */
  migrate(): Promise<MigrateResult>;
  /** Stop accepting calls once in-flight ones finish. Never ends the pool or PGlite instance you passed in. */
  close(): Promise<void>;
}

const SOURCE = 'postgres';
const MAX_ATTEMPTS = 4;
const checkQuery = (q: ReportQuery) => checkReportQuery(q, SOURCE);
const MAX_PARTITIONS_AHEAD = 366;

function checkOptions(options: PostgresStoreOptions) {
  const schema = options.schema ?? 'anon';
  const quoted = quoteSchema(schema);
  const ahead = options.partitionsAhead ?? 7;
  if (!Number.isInteger(ahead) || ahead < 0 || ahead > MAX_PARTITIONS_AHEAD) {
    throw postgresError(
      'invalid_config',
      `partitionsAhead must be an integer in 0..${MAX_PARTITIONS_AHEAD}, got ${ahead}`,
    );
  }
  if ((options as { timeZone?: unknown }).timeZone !== undefined) {
    // Removed in 0.x: a JavaScript caller still passing it would otherwise count days in UTC unawares.
    throw postgresError(
      'invalid_config',
      'postgresStore() no longer takes timeZone: the tracker hands its own through store.init()',
    );
  }
  const staging = options.staging ?? 'copy';
  if (staging !== 'copy' && staging !== 'unnest') {
    throw postgresError(
      'invalid_config',
      `staging must be 'copy' or 'unnest', got ${JSON.stringify(staging)}`,
    );
  }
  return { schema, quoted, ahead, staging, autoMigrate: options.autoMigrate ?? true };
}

function isMissingPartition(err: unknown): boolean {
  return (
    (err as { code?: unknown })?.code === '23514' && /no partition/i.test(String((err as Error).message))
  );
}

/**
 * The store of record on a node-postgres `Pool` or a PGlite instance. Neither driver is imported: pass the
 * client you built. Every value reaches SQL as a bound parameter; the schema name is validated and quoted.
 *
 * @example
 * const store = postgresStore(new Pool({ connectionString: process.env.DATABASE_URL }));
 * await store.migrate();
 */
export function postgresStore(client: PostgresClient, options: PostgresStoreOptions = {}): PostgresStore {
  if (client === null || typeof client !== 'object' || typeof client.query !== 'function') {
    throw postgresError('invalid_config', 'postgresStore needs a pg Pool or a PGlite instance');
  }
  const checked = checkOptions(options);
  const { schema, quoted, ahead, autoMigrate, staging } = checked;
  // The tracker's defaults until its `init` hands over its own settings.
  let settings: StoreSettings = DEFAULT_STORE_SETTINGS;
  const partitions = new Partitions(client, schema, quoted, ahead);
  const writeOptions: WriteOptions = {
    staging,
    pglite: isPGlite(client),
    botLock: advisoryLockKeys(schema, 'bot-sessions'),
    // The schema itself names its statements; a long one is cut and told apart by a hash (names end at 63 bytes).
    statementKey:
      schema.length <= 48
        ? schema
        : `${schema.slice(0, 40)}_${(advisoryLockKeys(schema, 'statements')[1] >>> 0).toString(36)}`,
  };
  const reports = new Reports(quoted);
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  let migrated: Promise<MigrateResult> | null = null;

  async function doMigrate(): Promise<MigrateResult> {
    const result = await migrate(client, schema, quoted);
    try {
      const [row] = await rowsOf<{ today: string }>(
        client,
        `SELECT to_char((now() AT TIME ZONE $1::text)::date, 'YYYY-MM-DD') AS today`,
        [settings.timeZone],
      );
      if (row) await partitions.ensure([row.today]);
    } catch (err) {
      throw storeError('creating partitions', err);
    }
    return result;
  }

  function ensureMigrated(): Promise<MigrateResult> {
    if (!migrated) {
      migrated = doMigrate();
      migrated.catch(() => {
        migrated = null;
      });
    }
    return migrated;
  }

  /** Run one store call: refuse after close, migrate first if asked, map every driver error. */
  function run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(postgresError('closed', `${action}: the store is closed`));
    const task = (async () => {
      try {
        if (autoMigrate) await ensureMigrated();
        return await fn();
      } catch (err) {
        throw storeError(action, err);
      }
    })();
    inFlight.add(task);
    task.then(
      () => inFlight.delete(task),
      () => inFlight.delete(task),
    );
    return task;
  }

  const read = <T>(action: string, fn: (db: Queryable) => Promise<T>) => run(action, () => fn(client));

  return {
    schema,

    init(given: StoreSettings): void {
      settings = checkStoreSettings(given, SOURCE);
    },

    migrate() {
      if (closed) return Promise.reject(postgresError('closed', 'migrate: the store is closed'));
      migrated = doMigrate();
      migrated.catch(() => {
        migrated = null;
      });
      return migrated;
    },

    write(batch: EventBatch): Promise<WriteResult> {
      return run('write', async () => {
        checkBatch(batch, SOURCE);
        const parts = batchParts(batch);
        const days = parts.days;
        await partitions.ensure(days);
        for (let attempt = 1; ; attempt++) {
          try {
            return await inTransaction(client, (q, connection) =>
              writeBatch(q, connection, quoted, parts, writeOptions),
            );
          } catch (err) {
            if (attempt >= MAX_ATTEMPTS) throw err;
            if (isMissingPartition(err)) {
              // Another process dropped a partition this store still had cached: look again and recreate.
              partitions.forget(days);
              await partitions.ensure(days);
            } else if (!isRetryable(err)) {
              throw err;
            }
          }
        }
      });
    },

    visitorSessions(keys: string[], since: Millis, until: Millis): Promise<Session[]> {
      return read('visitorSessions', async (db) => {
        const list = checkVisitorSessions(keys, since, until, SOURCE).map((key) => text(key) as string);
        if (list.length === 0) return [];
        return rowsOf<Session>(
          db,
          `SELECT ${SESSION_SELECT} FROM ${quoted}.sessions s
           WHERE s.visitor_key = ANY($1::text[]) AND s.started_at BETWEEN ${ts('$2::float8')} AND ${ts('$3::float8')}
           ORDER BY s.started_at, s.id COLLATE "C"`,
          [list, since, until],
        );
      });
    },

    purge(before: Millis, purgeOptions: PurgeOptions = {}): Promise<PurgeResult> {
      return run('purge', async () => {
        const cutoffs = checkPurge(before, purgeOptions, SOURCE);
        if (cutoffs.dryRun) return countPurge(client, quoted, cutoffs);
        try {
          return await inTransaction(client, (q) => purge(q, schema, quoted, cutoffs, settings.timeZone));
        } finally {
          // Whatever happened, cached partitions may be gone now: look them up again on the next write.
          partitions.forget();
        }
      });
    },

    claimDailyJob(job: string, day: Day): Promise<boolean> {
      return run('claimDailyJob', async () => {
        const claim = checkClaimDailyJob(job, day, SOURCE);
        return claimDailyJob(client, quoted, claim.job, claim.day);
      });
    },

    eraseUser(userId: string): Promise<EraseResult> {
      return run('eraseUser', async () => {
        const id = checkEraseUser(userId, SOURCE);
        return inTransaction(client, (q) => eraseUser(q, quoted, id));
      });
    },

    topPages: (q: ReportQuery): Promise<TopPageRow[]> =>
      read('topPages', (db) => reports.topPages(db, checkQuery(q))),
    sessions: (q: ReportQuery): Promise<SessionsReport> =>
      read('sessions', (db) => reports.sessions(db, checkQuery(q))),
    conversions: (q: ReportQuery): Promise<ConversionsReport> =>
      read('conversions', (db) => reports.conversions(db, checkQuery(q))),
    funnel: (q: ReportQuery, steps: string[]): Promise<FunnelStepRow[]> =>
      read('funnel', (db) => reports.funnel(db, checkQuery(q), checkFunnelSteps(steps, SOURCE))),
    journeys: (q: ReportQuery & { maxSteps?: number }): Promise<JourneyRow[]> =>
      read('journeys', (db) => reports.journeys(db, checkQuery(q), checkMaxSteps(q.maxSteps, SOURCE))),
    referrers: (q: ReportQuery): Promise<ReferrerRow[]> =>
      read('referrers', (db) => reports.referrers(db, checkQuery(q))),
    campaigns: (q: ReportQuery): Promise<CampaignRow[]> =>
      read('campaigns', (db) => reports.campaigns(db, checkQuery(q))),
    devices: (q: ReportQuery): Promise<DevicesReport> =>
      read('devices', (db) => reports.devices(db, checkQuery(q))),
    bots: (q: ReportQuery): Promise<BotsReport> => read('bots', (db) => reports.bots(db, checkQuery(q))),
    overview: (q: ReportQuery) => read('overview', (db) => reports.overview(db, checkQuery(q))),
    entryPages: (q: ReportQuery) => read('entryPages', (db) => reports.entryPages(db, checkQuery(q))),
    exitPages: (q: ReportQuery) => read('exitPages', (db) => reports.exitPages(db, checkQuery(q))),
    countries: (q: ReportQuery) => read('countries', (db) => reports.countries(db, checkQuery(q))),
    aggregates: (q: ReportQuery): Promise<DailyAggregate[]> =>
      read('aggregates', (db) => reports.aggregates(db, checkQuery(q))),

    async close(): Promise<void> {
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
