export type AnonErrorCode =
  | 'invalid_config'
  | 'invalid_input'
  | 'invalid_beacon'
  | 'payload_too_large'
  | 'store_unavailable'
  | 'store_failed'
  | 'hot_store_failed'
  | 'queue_failed'
  | 'queue_full'
  | 'closed'
  | 'migration_failed';

/**
 * The one error type anon throws or reports. Messages read `[anon] [postgres] …`; the driver's error, if
 * any, is the `cause`.
 */
export class AnonError extends Error {
  override readonly name = 'AnonError';
  readonly code: AnonErrorCode;
  readonly source: string;

  constructor(code: AnonErrorCode, message: string, options: { source?: string; cause?: unknown } = {}) {
    const source = options.source ?? 'core';
    super(`[anon] [${source}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.source = source;
  }
}

/** True for an `AnonError`, optionally of one code. */
export function isAnonError(value: unknown, code?: AnonErrorCode): value is AnonError {
  return value instanceof AnonError && (code === undefined || value.code === code);
}
