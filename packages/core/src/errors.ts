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
    super(
      `[anon] [${source}] ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.source = source;
  }
}

/**
 * True for an `AnonError`, optionally of one code. Checks the shape, not the class: the CommonJS build of each
 * entry point (`@anon/core`, `@anon/core/memory`) carries its own copy of the class.
 */
export function isAnonError(value: unknown, code?: AnonErrorCode): value is AnonError {
  if (!(value instanceof Error) || value.name !== 'AnonError') return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
