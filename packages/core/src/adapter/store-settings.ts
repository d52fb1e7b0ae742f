import { dayOf } from '../day.js';
import { AnonError } from '../errors.js';
import type { StoreSettings } from '../ports.js';
import type { Day, Millis } from '../types.js';

/** The settings a store works on until the tracker's `init` (the tracker's own defaults). */
export const DEFAULT_STORE_SETTINGS: Readonly<StoreSettings> = Object.freeze({
  timeZone: 'UTC',
  retentionDays: 90,
});

/**
 * Checks the settings `StoreWriter.init` receives and fills what is missing from
 * {@link DEFAULT_STORE_SETTINGS}: an IANA `timeZone` this runtime knows and an integer `retentionDays` ≥ 1.
 * Anything else is `AnonError('invalid_config')` from `source`.
 *
 * @example
 * init(settings) { this.settings = checkStoreSettings(settings, 'my-store'); }
 */
export function checkStoreSettings(
  settings: Partial<StoreSettings> | undefined,
  source: string,
): StoreSettings {
  const timeZone = settings?.timeZone ?? DEFAULT_STORE_SETTINGS.timeZone;
  const retentionDays = settings?.retentionDays ?? DEFAULT_STORE_SETTINGS.retentionDays;
  try {
    if (typeof timeZone !== 'string') throw new TypeError('not a string');
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch (cause) {
    throw new AnonError('invalid_config', `timeZone ${JSON.stringify(timeZone)} is not an IANA time zone`, {
      source,
      cause,
    });
  }
  if (!(Number.isSafeInteger(retentionDays) && retentionDays >= 1)) {
    throw new AnonError(
      'invalid_config',
      `retentionDays must be an integer ≥ 1, got ${String(retentionDays)}`,
      {
        source,
      },
    );
  }
  return { timeZone, retentionDays };
}

const MIN_TIME = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_TIME = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/**
 * The day of `before` in `timeZone`, clamped to years 0001–9999 so it compares as a day string: unique-visitor
 * entries of earlier days can go at a purge, since those days receive no more views.
 */
export function purgeCutoffDay(before: Millis, timeZone: string): Day {
  return dayOf(Math.min(MAX_TIME, Math.max(MIN_TIME, before)), timeZone);
}
