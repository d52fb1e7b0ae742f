import { createLogThrottle } from '../adapter/log-throttle.js';
import { AnonError, type AnonErrorCode } from '../errors.js';
import type { Clock, Logger } from '../ports.js';

/** Counts failures and logs them, at most once a minute per message, so an outage cannot flood the logs. */
export interface FailureLog {
  report(code: AnonErrorCode, message: string, cause?: unknown): void;
  count(): number;
}

const LOG_EVERY_MS = 60_000;

/**
 * A failure counter that logs through `logger`, one line per message a minute (the shared log throttle, on
 * `clock`); a line held back is counted in the next one's `suppressed`.
 */
export function createFailureLog(logger: Logger, clock: Clock): FailureLog {
  let failures = 0;
  const log = createLogThrottle(logger, { everyMs: LOG_EVERY_MS, now: () => clock.now() });
  return {
    report(code, message, cause) {
      failures += 1;
      try {
        const error = new AnonError(code, message, { cause });
        log.error(error.message, { code, cause: describe(cause), failures });
      } catch {
        // A failure that cannot even be described must not turn a tracking failure into a request failure.
      }
    },
    count: () => failures,
  };
}

function describe(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
