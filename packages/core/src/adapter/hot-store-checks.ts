import { AnonError } from '../errors.js';
import type { RecordInput, SessionRules } from '../ports.js';

// The argument checks every `HotStore` applies before it touches its backend, with the same messages
// whichever backend it is. `source` names the backend in the error (`[anon] [redis] …`).

const invalid = (message: string, source: string) => new AnonError('invalid_input', message, { source });

/** `now` and other times: a finite number of milliseconds. */
export function checkHotTime(value: unknown, name: string, source: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(`${name} must be a finite number of milliseconds`, source);
  }
}

/** The rules passed with each call: every field a finite number ≥ 0. */
export function checkSessionRules(rules: SessionRules, source: string): void {
  for (const name of [
    'sessionTimeoutMs',
    'persistEvery',
    'botMaxViewsPerMinute',
    'realtimeWindowMs',
  ] as const) {
    const value = rules?.[name];
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw invalid(`rules.${name} must be a finite number ≥ 0`, source);
    }
  }
}

/** One input of `recordPageView(s)`: non-empty visitor key and new session id, a finite view time. */
export function checkRecordInput(input: RecordInput, source: string): void {
  if (input === null || typeof input !== 'object') throw invalid('a record input must be an object', source);
  if (typeof input.visitorKey !== 'string' || input.visitorKey === '') {
    throw invalid('visitorKey must be a non-empty string', source);
  }
  if (typeof input.newSessionId !== 'string' || input.newSessionId === '') {
    throw invalid('newSessionId must be a non-empty string', source);
  }
  checkHotTime(input.view?.at, 'view.at', source);
}

/** `engage`'s arguments: a string view id, an engaged time that is null or a finite number ≥ 0, a time. */
export function checkEngage(viewId: unknown, engagedMs: unknown, now: unknown, source: string): void {
  checkHotTime(now, 'now', source);
  if (typeof viewId !== 'string') throw invalid('viewId must be a string', source);
  if (
    engagedMs !== null &&
    !(typeof engagedMs === 'number' && Number.isFinite(engagedMs) && engagedMs >= 0)
  ) {
    throw invalid('engagedMs must be a finite number ≥ 0 or null', source);
  }
}

/** `identify`'s arguments: a string user id and a time. */
export function checkHotIdentify(userId: unknown, now: unknown, source: string): void {
  checkHotTime(now, 'now', source);
  if (typeof userId !== 'string') throw invalid('userId must be a string', source);
}

/** `activeVisitors`'s arguments: a time and a window that is a finite number ≥ 0. */
export function checkActiveVisitors(now: unknown, windowMs: unknown, source: string): void {
  checkHotTime(now, 'now', source);
  if (!(typeof windowMs === 'number' && Number.isFinite(windowMs) && windowMs >= 0)) {
    throw invalid('windowMs must be a finite number ≥ 0', source);
  }
}

/** `claimExpired`'s arguments: a time, the rules, an integer limit ≥ 0 and a lease > 0. */
export function checkClaimExpired(
  now: unknown,
  rules: SessionRules,
  limit: unknown,
  leaseMs: unknown,
  source: string,
): void {
  checkHotTime(now, 'now', source);
  checkSessionRules(rules, source);
  if (!(Number.isInteger(limit) && (limit as number) >= 0))
    throw invalid('limit must be an integer ≥ 0', source);
  if (!(typeof leaseMs === 'number' && Number.isFinite(leaseMs) && leaseMs > 0)) {
    throw invalid('leaseMs must be a finite number > 0', source);
  }
}

/** `complete`'s argument: an array of string session ids. */
export function checkSessionIds(sessionIds: unknown, source: string): void {
  if (!Array.isArray(sessionIds)) throw invalid('sessionIds must be an array', source);
  for (const id of sessionIds)
    if (typeof id !== 'string') throw invalid('session ids must be strings', source);
}
