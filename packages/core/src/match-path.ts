/** A pattern split on `*`: the path must start with the first part, end with the last, hold the rest in order. */
type Compiled = readonly string[];

const MAX_COMPILED = 1_000;
const compiled = new Map<string, Compiled>();

function compile(pattern: string): Compiled {
  let parts = compiled.get(pattern);
  if (parts === undefined) {
    parts = pattern.split('*');
    // Report filters are few and repeat; a full cache is simply reset rather than tracked by recency.
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, parts);
  }
  return parts;
}

/**
 * True when `path` equals `pattern`, or matches it with `*` standing for any run of characters (`/` included).
 * No regular expression: a greedy scan is linear in the path for any pattern, so a report filter cannot
 * backtrack catastrophically.
 * @example matchPath('/posts/*', '/posts/42/comments') // true
 */
export function matchPath(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) return pattern === path;
  const parts = compile(pattern);
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (path.length < first.length + last.length) return false;
  if (!path.startsWith(first) || !path.endsWith(last)) return false;
  let at = first.length;
  const end = path.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const found = path.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
