import { AnonError, type AnonErrorCode } from '@anon/core';

/** The Postgres adapter's errors: every one it throws is made here, marked `source: 'postgres'`. */
export function postgresError(code: AnonErrorCode, message: string, cause?: unknown): AnonError {
  return new AnonError(
    code,
    message,
    cause === undefined ? { source: 'postgres' } : { source: 'postgres', cause },
  );
}

/** Node socket errors and SQLSTATEs that mean "the database cannot be reached right now", not "this batch is bad". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Cannot use a pool after calling end|PGlite is closed|Client was closed/i;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the driver error says the server is unreachable (retrying later can succeed). */
export function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return err instanceof Error && UNAVAILABLE_MESSAGES.test(err.message);
}

/** SQLSTATEs after which the same transaction can simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40P01' || code === '40001';
}

/** Map any driver error to an `AnonError` (`store_unavailable` or `store_failed`) keeping it as the cause. */
export function storeError(action: string, err: unknown): AnonError {
  if (err instanceof AnonError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const code = codeOf(err);
  const suffix = code ? ` (${code})` : '';
  return postgresError(
    isUnavailable(err) ? 'store_unavailable' : 'store_failed',
    `${action} failed: ${detail}${suffix}`,
    err,
  );
}
