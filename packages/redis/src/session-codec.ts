import type { HotSession } from '@anon/core';
import { redisError } from './errors.js';

type FieldKind = 'string' | 'nullable-string' | 'number' | 'nullable-number' | 'boolean';

/**
 * Every `HotSession` field and how it is kept in the session hash. A null is an absent field; numbers are
 * kept as JavaScript formatted them (`String(n)`), so they read back exactly; booleans are `1` / `0`.
 */
const FIELDS: Record<keyof HotSession, FieldKind> = {
  id: 'string',
  visitorKey: 'string',
  userId: 'nullable-string',
  startedAt: 'number',
  startDay: 'string',
  lastSeenAt: 'number',
  pageViews: 'number',
  landingPath: 'string',
  exitPath: 'string',
  lastViewId: 'string',
  lastViewDay: 'string',
  lastViewIsBot: 'boolean',
  lastEngagedMs: 'nullable-number',
  isBot: 'boolean',
  referrer: 'nullable-string',
  referrerHost: 'nullable-string',
  utmSource: 'nullable-string',
  utmMedium: 'nullable-string',
  utmCampaign: 'nullable-string',
  utmTerm: 'nullable-string',
  utmContent: 'nullable-string',
  device: 'string',
  browser: 'nullable-string',
  os: 'nullable-string',
  country: 'nullable-string',
  city: 'nullable-string',
};

const FIELD_NAMES = Object.keys(FIELDS) as (keyof HotSession)[];
const FIELD_KINDS = FIELD_NAMES.map((name) => FIELDS[name]);
/** Field name → its position in `FIELD_NAMES`. */
const FIELD_INDEX = new Map<string, number>(FIELD_NAMES.map((name, i) => [name, i]));

/**
 * A session hash (HGETALL as a flat array, or the same array from a script's JSON reply) back to a `HotSession`;
 * fields starting with `_` are the adapter's own.
 */
export function decodeSession(flat: unknown): HotSession {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) {
    throw redisError('hot_store_failed', 'unexpected session hash reply from Redis');
  }
  const values: (string | undefined)[] = new Array(FIELD_NAMES.length);
  for (let i = 0; i < flat.length; i += 2) {
    const at = FIELD_INDEX.get(String(flat[i]));
    if (at !== undefined) values[at] = String(flat[i + 1]);
  }
  const session: Record<string, unknown> = {};
  for (let k = 0; k < FIELD_NAMES.length; k++) {
    const name = FIELD_NAMES[k] as keyof HotSession;
    const kind = FIELD_KINDS[k] as FieldKind;
    const value = values[k];
    if (value === undefined) {
      if (kind === 'nullable-string' || kind === 'nullable-number') {
        session[name] = null;
        continue;
      }
      throw redisError('hot_store_failed', `session hash is missing its "${name}" field`);
    }
    session[name] =
      kind === 'boolean'
        ? value === '1'
        : kind === 'number' || kind === 'nullable-number'
          ? Number(value)
          : value;
  }
  return session as unknown as HotSession;
}
