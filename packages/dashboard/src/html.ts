/** A fragment of HTML that is already safe to insert: produced only by `html` and `trusted`. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

/**
 * A tagged template that escapes every interpolated value unless it is `SafeHtml` (another `html` fragment).
 * Paths, referrers and campaign names are chosen by whoever sends a request, so nothing from a store is ever
 * concatenated into markup by hand: escaping is the default, and opting out takes a visible `trusted()`.
 * Arrays are joined; null, undefined and false render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] as string);
  }
  return new SafeHtml(out);
}

/** Mark a string built by this package (never one from a store or a request) as markup. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}
