import { normalizePath } from '../normalize/path.js';
import { createRouteMatcher, type RouteMatcher } from '../normalize/routes.js';

/**
 * The GET route patterns of an app, for a binding whose framework only tells it patterns as they are registered
 * (Fastify's `onRoute`) and matches paths the way radix-tree routers do, whatever the registration order.
 */
export interface RouteTable {
  /** Adds a pattern (`/posts/:id`); a catch-all (`*`) or a non-path says nothing about a page and is ignored. */
  add(pattern: string): void;
  /**
   * The pattern `path` matches, or null. Where several match, the one with a static segment at the first place
   * they differ wins (`/posts/new` over `/posts/:id`), as in find-my-way; `:name` stands for one segment.
   */
  match(path: string): string | null;
}

/**
 * An empty `RouteTable`. Patterns may be added while it is in use: the matcher is rebuilt on the next match.
 * @example
 * const routes = createRouteTable();
 * fastify.addHook('onRoute', (route) => routes.add(route.url));
 */
export function createRouteTable(): RouteTable {
  const patterns: string[] = [];
  let matcher: RouteMatcher | null = null;
  return {
    add(pattern) {
      if (typeof pattern !== 'string' || !pattern.startsWith('/') || pattern.includes('*')) return;
      patterns.push(pattern);
      matcher = null;
    },
    match(path) {
      // createRouteMatcher answers the first pattern that matches: order them static-first, stably.
      matcher ??= createRouteMatcher(
        patterns
          .map(ranked)
          .sort(byRank)
          .map((entry) => entry.pattern),
      );
      return matcher(path);
    },
  };
}

interface Ranked {
  pattern: string;
  /** Per segment: 0 for a static one, 1 for a parameter. */
  kinds: number[];
}

function ranked(pattern: string): Ranked {
  const segments = normalizePath(pattern).split('/');
  return { pattern, kinds: segments.map((segment) => (segment.startsWith(':') ? 1 : 0)) };
}

function byRank(a: Ranked, b: Ranked): number {
  const length = Math.min(a.kinds.length, b.kinds.length);
  for (let i = 0; i < length; i++) {
    const order = a.kinds[i]! - b.kinds[i]!;
    if (order !== 0) return order;
  }
  // Lexicographic, so that the order is total: patterns of different lengths never match the same path anyway.
  return a.kinds.length - b.kinds.length;
}
