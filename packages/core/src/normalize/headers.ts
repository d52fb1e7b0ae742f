import type { HeaderSource } from '../types.js';

/**
 * One header's value from a Node header record (lower-cased names, repeated headers as arrays) or a Fetch
 * `Headers`-like object; null when absent. Repeated values are joined with `, ` as HTTP folds them.
 */
export function headerValue(headers: HeaderSource | null | undefined, name: string): string | null {
  if (headers == null || typeof headers !== 'object') return null;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): unknown }).get(name);
    return typeof value === 'string' ? value : null;
  }
  const value = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const parts = value.filter((part): part is string => typeof part === 'string');
    return parts.length === 0 ? null : parts.join(', ');
  }
  return null;
}
