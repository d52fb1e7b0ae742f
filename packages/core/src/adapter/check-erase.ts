import { LIMITS } from '../config.js';
import { AnonError } from '../errors.js';

/**
 * Checks `StoreWriter.eraseUser`'s argument and returns the id as stores hold it: a non-empty string, cut to
 * `LIMITS.userId` characters as core cut it before storing (so the id the app passed to `identify` finds its
 * rows). Anything else is `AnonError('invalid_input')` from `source`, so no store runs a delete on a bad id.
 *
 * @example
 * async eraseUser(userId) { const id = checkEraseUser(userId, 'my-store'); ... }
 */
export function checkEraseUser(userId: unknown, source: string): string {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new AnonError(
      'invalid_input',
      `eraseUser() needs a non-empty user id, got ${String(userId).slice(0, 50)}`,
      { source },
    );
  }
  return userId.slice(0, LIMITS.userId);
}
