import { AnonError } from './errors.js';
import type { Day, Millis } from './types.js';

const DAY_MS = 86_400_000;
/** The range of an ECMAScript `Date`: ±100 million days around the epoch. */
const MAX_TIME = 8.64e15;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Z']);

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`): no `Date` allocated. */
function utcDay(at: Millis): Day {
  const z = Math.floor(at / DAY_MS) + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year < 0 ? `-${pad(-year, 6)}` : pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

const MAX_FORMATTERS = 64;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      });
    } catch (cause) {
      throw new AnonError(
        'invalid_config',
        `timeZone "${timeZone}" is not an IANA time zone this runtime knows`,
        {
          cause,
        },
      );
    }
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * The calendar day of `at` in `timeZone` (IANA), `YYYY-MM-DD`. UTC is pure arithmetic; other zones go through
 * a cached `Intl.DateTimeFormat`. Throws `AnonError('invalid_input')` for a time that is not finite and
 * `AnonError('invalid_config')` for an unknown zone.
 * @example dayOf(Date.UTC(2026, 0, 15, 23), 'America/Toronto') // '2026-01-15'
 */
export function dayOf(at: Millis, timeZone: string): Day {
  if (!Number.isFinite(at) || Math.abs(at) > MAX_TIME)
    throw new AnonError('invalid_input', `dayOf() needs a finite time, got ${String(at)}`);
  if (UTC_NAMES.has(timeZone)) return utcDay(at);
  let year = '';
  let month = '';
  let day = '';
  // Parts, not `format()`: the assembled string does not depend on the locale data of the runtime.
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}
