/** C0 and C1 control characters and DEL: terminal escapes (ESC, BEL) and line breaks that forge table rows. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS_ALL = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * `value` without control characters, cut to at most `max` UTF-16 code units, never leaving half of a
 * surrogate pair at the end (a lone high surrogate would make the string invalid UTF-8 for a store). Every
 * string core keeps goes through here, so nothing stored can carry a terminal escape or a line break.
 */
export function truncate(raw: string, max: number): string {
  const value = CONTROLS.test(raw) ? raw.replace(CONTROLS_ALL, '') : raw;
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
