import { AnonError, type AnonErrorCode } from '@anon/core';

/** The Redis adapter's errors: every one it throws is made here, marked `source: 'redis'`. */
export function redisError(code: AnonErrorCode, message: string, cause?: unknown): AnonError {
  return new AnonError(code, message, cause === undefined ? { source: 'redis' } : { source: 'redis', cause });
}
