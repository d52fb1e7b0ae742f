import type {
  BotSession,
  Conversion,
  DailyAggregate,
  PageMetric,
  PageView,
  Session,
  Touch,
} from '@anon/core';
import type { MongoDocument } from './db-like.js';
import { mongoError } from './errors.js';

/** What a stored field may hold. `?` admits null. */
type Kind = 'string' | 'string?' | 'number' | 'number?' | 'boolean' | 'strings' | 'touch?';

type Shape<T> = { readonly [K in keyof T]-?: Kind };

const SOURCE_FIELDS = {
  referrer: 'string?',
  referrerHost: 'string?',
  utmSource: 'string?',
  utmMedium: 'string?',
  utmCampaign: 'string?',
  utmTerm: 'string?',
  utmContent: 'string?',
} as const;

const DEVICE_FIELDS = {
  device: 'string',
  browser: 'string?',
  os: 'string?',
  country: 'string?',
  city: 'string?',
} as const;

/** Every field of a page view document (its id is `_id`). */
export const PAGE_VIEW_SHAPE: Shape<Omit<PageView, 'id'>> = {
  ...SOURCE_FIELDS,
  ...DEVICE_FIELDS,
  sessionId: 'string?',
  visitorKey: 'string?',
  userId: 'string?',
  authenticated: 'boolean',
  at: 'number',
  day: 'string',
  path: 'string',
  url: 'string',
  pageType: 'string?',
  scope: 'string?',
  ip: 'string?',
  isBot: 'boolean',
  botReasons: 'strings',
  seq: 'number',
};

/** Every field of a metric document (its id, `<viewId>:<metric>`, is `_id`). */
export const METRIC_SHAPE: Shape<PageMetric> = {
  viewId: 'string',
  metric: 'string',
  value: 'number',
  sessionId: 'string?',
  day: 'string',
  at: 'number',
  path: 'string',
  isBot: 'boolean',
};

/** Every field of a session document (its id is `_id`). */
export const SESSION_SHAPE: Shape<Omit<Session, 'id'>> = {
  ...SOURCE_FIELDS,
  ...DEVICE_FIELDS,
  visitorKey: 'string',
  userId: 'string?',
  startedAt: 'number',
  day: 'string',
  lastSeenAt: 'number',
  endedAt: 'number?',
  durationMs: 'number',
  pageViews: 'number',
  landingPath: 'string',
  exitPath: 'string',
  isBot: 'boolean',
  convertedUserId: 'string?',
  convertedAt: 'number?',
};

/** Every field of a `botsession` event's body (stored in `bot_sessions` under `_id` = its `sessionId`). */
export const BOT_SESSION_SHAPE: Shape<BotSession> = {
  sessionId: 'string',
  day: 'string',
  at: 'number',
};

/** Every field of a conversion document (its id is `_id`). */
export const CONVERSION_SHAPE: Shape<Omit<Conversion, 'id'>> = {
  userId: 'string',
  kind: 'string',
  at: 'number',
  day: 'string',
  sessionIds: 'strings',
  firstTouch: 'touch?',
  lastTouch: 'touch?',
  pagesBefore: 'number',
  msBefore: 'number?',
};

const TOUCH_SHAPE: Shape<Touch> = {
  ...SOURCE_FIELDS,
  sessionId: 'string',
  landingPath: 'string',
  startedAt: 'number',
};

function fits(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === null || typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'number?':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
    case 'boolean':
      return typeof value === 'boolean';
    case 'strings':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'touch?':
      return value === null || (typeof value === 'object' && checkShape(TOUCH_SHAPE, value) === null);
  }
}

function checkShape(shape: Record<string, Kind>, value: object): string | null {
  const record = value as Record<string, unknown>;
  for (const [field, kind] of Object.entries(shape)) {
    if (!fits(kind, record[field])) return field;
  }
  return null;
}

/**
 * A copy of `value` holding exactly the fields of `shape`, each checked: a wrong type is
 * `AnonError('invalid_input')`, never a value that could reach MongoDB as an object (and so as an operator).
 */
export function pick(shape: Record<string, Kind>, value: unknown, what: string): MongoDocument {
  if (typeof value !== 'object' || value === null)
    throw mongoError('invalid_input', `${what} is not an object`);
  const bad = checkShape(shape, value);
  if (bad !== null) throw mongoError('invalid_input', `${what} has an invalid "${bad}"`);
  const record = value as Record<string, unknown>;
  const out: MongoDocument = {};
  for (const field of Object.keys(shape)) {
    const item = record[field];
    out[field] = field === 'firstTouch' || field === 'lastTouch' ? copyTouch(item) : item;
  }
  return out;
}

function copyTouch(value: unknown): MongoDocument | null {
  if (value === null) return null;
  const record = value as Record<string, unknown>;
  const out: MongoDocument = {};
  for (const field of Object.keys(TOUCH_SHAPE)) out[field] = record[field];
  return out;
}

/** A stored document back in its domain type: `_id` becomes `id`, bookkeeping fields are left out. */
export function fromDocument<T>(shape: Record<string, Kind>, doc: MongoDocument): T {
  const out: Record<string, unknown> = { id: doc._id };
  for (const field of Object.keys(shape)) {
    const item = doc[field];
    out[field] =
      item === undefined ? null : field === 'firstTouch' || field === 'lastTouch' ? copyTouch(item) : item;
  }
  return out as T;
}

/** The fields of a daily aggregate row, as stored beside its `_id: { day, path }`. */
export const AGGREGATE_FIELDS = [
  'day',
  'path',
  'views',
  'authenticatedViews',
  'anonymousViews',
  'uniqueVisitors',
  'timeOnPageSumMs',
  'timeOnPageCount',
  'scrollDepthSum',
  'scrollDepthCount',
  'interactions',
  'mobileViews',
  'desktopViews',
  'tabletViews',
  'botViews',
  // Absent from rows written before it existed: read as 0.
  'botAuthenticatedViews',
] as const satisfies readonly (keyof DailyAggregate)[];
