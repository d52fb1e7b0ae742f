import type { AnonEvent, EventBatch } from '@anon/core';
import { invalidInput } from './query.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const METRICS = new Set(['time_on_page', 'scroll_depth', 'interactions']);

type Checks = Record<string, 'string' | 'string?' | 'number' | 'day' | 'boolean' | 'array'>;

const VIEW: Checks = {
  id: 'string',
  sessionId: 'string?',
  visitorKey: 'string?',
  at: 'number',
  day: 'day',
  path: 'string',
  isBot: 'boolean',
  seq: 'number',
};
const METRIC: Checks = {
  viewId: 'string',
  sessionId: 'string?',
  at: 'number',
  day: 'day',
  path: 'string',
  value: 'number',
  isBot: 'boolean',
};
const SESSION: Checks = {
  id: 'string',
  visitorKey: 'string',
  userId: 'string?',
  startedAt: 'number',
  lastSeenAt: 'number',
  day: 'day',
  pageViews: 'number',
  landingPath: 'string',
  exitPath: 'string',
  isBot: 'boolean',
  convertedUserId: 'string?',
};
const CONVERSION: Checks = { id: 'string', userId: 'string', at: 'number', day: 'day', sessionIds: 'array' };

/**
 * Refuses a batch that the store could only half apply: anything but the four event types it stores (an
 * `identify` is the worker's business, never the store's), or an event whose key fields are missing or of
 * the wrong type. Runs before anything is written, so a refused batch changes nothing.
 */
export function checkBatch(batch: EventBatch): void {
  if (batch === null || typeof batch !== 'object' || typeof batch.id !== 'string' || batch.id === '') {
    throw invalidInput('a batch needs a non-empty string id');
  }
  if (!Array.isArray(batch.events)) throw invalidInput(`batch ${batch.id}: events must be an array`);
  for (const [i, event] of batch.events.entries()) checkEvent(event, `batch ${batch.id}, event ${i}`);
}

function checkEvent(event: AnonEvent, where: string): void {
  if (event === null || typeof event !== 'object') throw invalidInput(`${where}: not an event`);
  switch (event.type) {
    case 'pageview':
      checkFields(event.view, VIEW, `${where} (pageview)`);
      return;
    case 'metric':
      checkFields(event.metric, METRIC, `${where} (metric)`);
      if (!METRICS.has(event.metric.metric)) throw invalidInput(`${where}: unknown metric`);
      return;
    case 'session':
      checkFields(event.session, SESSION, `${where} (session)`);
      return;
    case 'conversion':
      checkFields(event.conversion, CONVERSION, `${where} (conversion)`);
      if (event.conversion.sessionIds.some((id) => typeof id !== 'string')) {
        throw invalidInput(`${where}: conversion.sessionIds must be strings`);
      }
      return;
    default:
      // `identify` lands here too: the store never links visitors itself.
      throw invalidInput(
        `${where}: a store does not take events of type ${JSON.stringify(String(event.type))}`,
      );
  }
}

function checkFields(value: unknown, checks: Checks, where: string): void {
  if (value === null || typeof value !== 'object') throw invalidInput(`${where}: payload missing`);
  const record = value as Record<string, unknown>;
  for (const [field, kind] of Object.entries(checks)) {
    const v = record[field];
    const ok =
      kind === 'string'
        ? typeof v === 'string'
        : kind === 'string?'
          ? v === null || typeof v === 'string'
          : kind === 'number'
            ? typeof v === 'number' && Number.isFinite(v)
            : kind === 'day'
              ? typeof v === 'string' && DAY.test(v)
              : kind === 'boolean'
                ? typeof v === 'boolean'
                : Array.isArray(v);
    if (!ok) throw invalidInput(`${where}: ${field} is missing or not a ${kind.replace('?', ' or null')}`);
  }
}
