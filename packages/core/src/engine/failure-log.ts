import { AnonError, type AnonErrorCode } from '../errors.js';
import type { Clock, Logger } from '../ports.js';

/** Counts failures and logs them, at most once a minute per message, so an outage cannot flood the logs. */
export interface FailureLog {
  report(code: AnonErrorCode, message: string, cause?: unknown): void;
  count(): number;
}

const LOG_EVERY_MS = 60_000;

/** A failure counter that logs through `logger`, rate-limited per message with `clock`. */
export function createFailureLog(logger: Logger, clock: Clock): FailureLog {
  let failures = 0;
  const lastLogged = new Map<string, number>();
  return {
    report(code, message, cause) {
      failures += 1;
      try {
        const now = clock.now();
        const last = lastLogged.get(message);
        if (last !== undefined && now - last < LOG_EVERY_MS) return;
        if (lastLogged.size > 1_000) lastLogged.clear();
        lastLogged.set(message, now);
        const error = new AnonError(code, message, { cause });
        logger.error(error.message, { code, cause: describe(cause), failures });
      } catch {
        // A logger that throws must not turn a tracking failure into a request failure.
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
