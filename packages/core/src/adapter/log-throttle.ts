import { AnonError } from '../errors.js';
import type { Logger } from '../ports.js';
import type { Millis } from '../types.js';

/** Options of {@link createLogThrottle}. */
export interface LogThrottleOptions {
  /** Shortest time between two lines of the same message, in milliseconds. */
  everyMs: number;
  /**
   * The clock the windows are measured with; a test passes a fake one.
   * @default Date.now
   */
  now?: () => Millis;
  /**
   * Distinct messages remembered at once. Past it, the message logged longest ago is forgotten (its next line
   * is logged at once), so hostile or ever-changing messages cannot grow the map.
   * @default 1_000
   */
  maxKeys?: number;
}

/**
 * One line per message per window. A line held back is counted, and the count rides on the message's next
 * line as `data.suppressed`. Each call answers whether it logged; none throws, whatever the logger does.
 */
export interface LogThrottle {
  warn(message: string, data?: Record<string, unknown>): boolean;
  error(message: string, data?: Record<string, unknown>): boolean;
}

const DEFAULT_MAX_KEYS = 1_000;

interface Window {
  /** When the message was last logged. */
  at: Millis;
  /** Lines of the message held back since then. */
  suppressed: number;
}

/**
 * The one log throttle of anon: the engine's failure log and the adapters' background loops (a queue that
 * retries while its backend is down) log through it, so an outage gives one line per message per window,
 * with the count of the lines it held back. Keep what varies (counts, ids, error text) in `data`, not in the
 * message: the message is the key. Throws `AnonError('invalid_config')` for bad options.
 *
 * @example
 * const log = createLogThrottle(logger, { everyMs: 10_000 });
 * log.warn('[anon] [my-queue] sending failed; retrying', { error: String(error) });
 */
export function createLogThrottle(logger: Logger, options: LogThrottleOptions): LogThrottle {
  const everyMs = options.everyMs;
  if (typeof everyMs !== 'number' || !Number.isFinite(everyMs) || everyMs < 0) {
    throw new AnonError('invalid_config', `everyMs must be a finite number ≥ 0, got ${String(everyMs)}`);
  }
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new AnonError('invalid_config', `maxKeys must be an integer ≥ 1, got ${String(maxKeys)}`);
  }
  const now = options.now ?? Date.now;
  // In the order the messages were last logged: the first key is the one logged longest ago.
  const windows = new Map<string, Window>();

  const write = (level: 'warn' | 'error', message: string, data?: Record<string, unknown>): boolean => {
    try {
      const at = now();
      const window = windows.get(message);
      // A clock that went back opens the window again rather than silencing the message until it catches up.
      if (window !== undefined && at >= window.at && at - window.at < everyMs) {
        window.suppressed += 1;
        return false;
      }
      const suppressed = window?.suppressed ?? 0;
      windows.delete(message);
      if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
      windows.set(message, { at, suppressed: 0 });
      const line = suppressed > 0 ? { ...data, suppressed } : data;
      if (line === undefined) logger[level](message);
      else logger[level](message, line);
      return true;
    } catch {
      // A logger (or clock) that throws must not turn a logged failure into a new one.
      return false;
    }
  };

  return {
    warn: (message, data) => write('warn', message, data),
    error: (message, data) => write('error', message, data),
  };
}
