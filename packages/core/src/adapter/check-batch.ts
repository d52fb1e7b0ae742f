import { AnonError } from '../errors.js';
import type { AnonEvent, EventBatch } from '../types.js';
import { isCalendarDay } from './day-check.js';

/** The event types a store keeps, each with the field that carries its body. */
export const STORED_EVENT_BODY = {
  pageview: 'view',
  metric: 'metric',
  session: 'session',
  botsession: 'botSession',
  conversion: 'conversion',
} as const satisfies Record<Exclude<AnonEvent['type'], 'identify'>, string>;

/**
 * Checks a whole batch before any of it is applied, so a refused batch changes nothing (docs/semantics.md,
 * "Store"): a non-empty string id, an array of events, each of a stored type (`identify` is the worker's to
 * resolve and is refused) with its body object, whose `day` is a real `YYYY-MM-DD` calendar day; a
 * `botsession` names its session by a non-empty string (a store selects rows by it) and its time is finite.
 * Throws `AnonError('invalid_input')` with `source` as the store's name. Field-by-field checks a backend
 * needs on top (a document store refusing operator-shaped objects) stay in the adapter.
 *
 * @example
 * async write(batch) {
 *   checkBatch(batch, 'my-store');
 *   // … apply it
 * }
 */
export function checkBatch(batch: EventBatch, source: string): void {
  const fail = (message: string) => new AnonError('invalid_input', message, { source });
  if (batch === null || typeof batch !== 'object' || typeof batch.id !== 'string' || batch.id === '') {
    throw fail('a batch needs a non-empty string id');
  }
  if (!Array.isArray(batch.events)) throw fail(`batch ${batch.id}: events must be an array`);
  for (const event of batch.events as unknown[]) {
    const type = (event as { type?: unknown } | null)?.type;
    if (type === 'identify') {
      throw fail(`batch ${batch.id}: identify events are resolved by the worker, not stored`);
    }
    if (typeof type !== 'string' || !Object.hasOwn(STORED_EVENT_BODY, type)) {
      throw fail(`batch ${batch.id}: unknown event type ${String(type).slice(0, 50)}`);
    }
    const body = (event as Record<string, unknown>)[
      STORED_EVENT_BODY[type as keyof typeof STORED_EVENT_BODY]
    ];
    if (body === null || typeof body !== 'object') {
      throw fail(`batch ${batch.id}: a ${type} event needs its ${type} object`);
    }
    const day = (body as { day?: unknown }).day;
    if (!isCalendarDay(day)) {
      throw fail(
        `batch ${batch.id}: ${type}.day must be a YYYY-MM-DD day, got ${JSON.stringify(day)?.slice(0, 50)}`,
      );
    }
    if (type === 'botsession') {
      const { sessionId, at } = body as { sessionId?: unknown; at?: unknown };
      if (typeof sessionId !== 'string' || sessionId === '') {
        throw fail(`batch ${batch.id}: botsession.sessionId must be a non-empty string`);
      }
      if (typeof at !== 'number' || !Number.isFinite(at)) {
        throw fail(`batch ${batch.id}: botsession.at must be a finite number`);
      }
    }
  }
}
