import { normalizePath } from './path.js';

/** One compiled route pattern: its segments, `:name` matching any one segment and a final `*` the rest. */
interface Route {
  pattern: string;
  segments: readonly string[];
  rest: boolean;
}

/** Maps a path to the app's route pattern it matches, or null. */
export type RouteMatcher = (path: string) => string | null;

function compile(pattern: string): Route {
  const normalized = normalizePath(pattern);
  const segments = normalized.split('/').slice(1);
  const rest = segments[segments.length - 1] === '*';
  return { pattern: normalized, segments: rest ? segments.slice(0, -1) : segments, rest };
}

function matches(route: Route, parts: readonly string[]): boolean {
  if (route.rest ? parts.length < route.segments.length : parts.length !== route.segments.length)
    return false;
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i]!;
    const part = parts[i]!;
    if (segment.startsWith(':') ? part === '' : segment !== part) return false;
  }
  return true;
}

/**
 * A matcher for the `routes` option: Express-style patterns where `:name` stands for one non-empty segment and
 * a final `*` for any rest; the first pattern that matches wins. Linear in the patterns, no regular expression.
 * @example createRouteMatcher(['/posts/:id'])('/posts/42') // '/posts/:id'
 */
export function createRouteMatcher(patterns: readonly string[]): RouteMatcher {
  const routes = patterns.map(compile);
  return (path) => {
    if (routes.length === 0) return null;
    const parts = normalizePath(path).split('/').slice(1);
    for (const route of routes) if (matches(route, parts)) return route.pattern;
    return null;
  };
}
