/**
 * `value` cut to at most `max` UTF-16 code units, never leaving half of a surrogate pair at the end (a lone
 * high surrogate would make the string invalid UTF-8 for a store).
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end);
}

/** A string from an app-supplied value, truncated; empty, missing or non-scalar values give null. */
export function optionalText(value: unknown, max: number): string | null {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else return null;
  return text === '' ? null : truncate(text, max);
}
