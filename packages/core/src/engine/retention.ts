import { dayOf } from '../day.js';
import type { Clock, Logger, StoreWriter } from '../ports.js';
import type { Day, Millis, PurgeOptions, PurgeResult } from '../types.js';

/** The `claimDailyJob` name of automatic retention: one purge per day across every worker on a store. */
export const RETENTION_JOB = 'retention';

/** How often a worker checks whether today's purge has run. */
export const RETENTION_INTERVAL_MS = 3_600_000;

/** No time zone is more than 14 hours from UTC; the search for a day's first instant stays inside ±15 h. */
const ZONE_SPAN_MS = 15 * 3_600_000;

/** What retention reads from the tracker's config. */
export interface RetentionSettings {
  timeZone: string;
  retentionDays: number;
  /** Null keeps authenticated sessions. */
  authenticatedRetentionDays: number | null;
}

/** Midnight UTC of a `YYYY-MM-DD` day, `days` days later (any year: `Date.UTC` would read 0–99 as 19xx). */
function utcMidnight(day: Day, days = 0): Millis {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d + days);
  return date.getTime();
}

/** The first instant of `day` in `timeZone` (the day may start at 01:00 where midnight is skipped). */
export function startOfDay(day: Day, timeZone: string): Millis {
  const midnight = utcMidnight(day);
  // dayOf(lo) < day <= dayOf(hi): the first instant of `day` is in (lo, hi].
  let lo = midnight - ZONE_SPAN_MS;
  let hi = midnight + ZONE_SPAN_MS;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (dayOf(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Today's purge for `now`: `day` (today in the time zone, the claim's key), `before` the first instant of the
 * day `retentionDays` days before today, and `authenticatedBefore` likewise with `authenticatedRetentionDays`
 * (absent when authenticated data is kept).
 */
export function retentionCutoffs(
  now: Millis,
  settings: RetentionSettings,
): { day: Day; before: Millis; options: PurgeOptions } {
  const day = dayOf(now, settings.timeZone);
  const cutoff = (days: number) => startOfDay(dayOf(utcMidnight(day, -days), 'UTC'), settings.timeZone);
  const options: PurgeOptions = {};
  if (settings.authenticatedRetentionDays !== null) {
    options.authenticatedBefore = cutoff(settings.authenticatedRetentionDays);
  }
  return { day, before: cutoff(settings.retentionDays), options };
}

export interface RetentionDeps {
  store: StoreWriter;
  clock: Clock;
  settings: RetentionSettings;
  logger: Logger;
  /** Check this often (the first check runs at once). @default RETENTION_INTERVAL_MS */
  intervalMs?: number;
  /** Resolves once the store has its settings (`init`); awaited before each check. */
  ready(): Promise<void>;
  onPurged(result: PurgeResult): void;
  onError(error: unknown): void;
}

export interface Retention {
  /** Check now: claim today's purge and run it; resolves with what went, or null when another instance has it. */
  check(): Promise<PurgeResult | null>;
  /** Stop the timer and wait for a check in progress. */
  stop(): Promise<void>;
}

/**
 * Automatic retention for a worker: at start and every hour, claim today's `retention` job on the store
 * (`claimDailyJob`); the one instance that wins purges anonymous data older than `retentionDays` and, when
 * set, authenticated data older than `authenticatedRetentionDays`. A purge that fails is retried by the
 * instance that claimed the day at its next check, as long as the day lasts; if that instance stops, the next
 * day's purge removes everything older anyway. A store without `claimDailyJob` gets no automatic retention
 * (logged once).
 */
export function startRetention(deps: RetentionDeps): Retention {
  const claimDailyJob = deps.store.claimDailyJob?.bind(deps.store);
  if (claimDailyJob === undefined) {
    try {
      deps.logger.warn(
        '[anon] [core] automatic retention is off: the store has no claimDailyJob(); run `anon purge` instead',
      );
    } catch {
      // A logger that throws must not stop the tracker.
    }
    return { check: async () => null, stop: async () => {} };
  }
  /** A day this instance claimed and has not yet purged (the purge failed): retried without a new claim. */
  let owed: Day | null = null;
  let running: Promise<PurgeResult | null> | null = null;

  const run = async (): Promise<PurgeResult | null> => {
    await deps.ready();
    const { day, before, options } = retentionCutoffs(deps.clock.now(), deps.settings);
    if (owed !== day && !(await claimDailyJob(RETENTION_JOB, day))) return null;
    owed = day;
    const result = await deps.store.purge(before, options);
    owed = null;
    deps.onPurged(result);
    try {
      // Said once a day by one instance; a purge that found nothing is only worth a debug line.
      const removed = result.sessions + result.pageViews + result.metrics > 0;
      const log = deps.logger.debug ?? (removed ? deps.logger.warn : undefined);
      log?.call(
        deps.logger,
        `[anon] [core] retention for ${day}: purged ${result.sessions} sessions, ${result.pageViews} page views, ${result.metrics} metrics`,
        { day, before, ...options, ...result },
      );
    } catch {
      // A logger that throws must not turn a purge into a failure.
    }
    return result;
  };

  const check = (): Promise<PurgeResult | null> => {
    running ??= run().finally(() => {
      running = null;
    });
    return running;
  };
  const tick = () => {
    check().catch(deps.onError);
  };

  tick();
  const timer = setInterval(tick, deps.intervalMs ?? RETENTION_INTERVAL_MS);
  // Retention must never keep a process alive on its own.
  (timer as { unref?: () => void }).unref?.();

  return {
    check,
    async stop() {
      clearInterval(timer);
      if (running !== null) await running.catch(() => undefined);
    },
  };
}
