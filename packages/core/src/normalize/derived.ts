import type { TrackerConfig } from '../config.js';
import { matchPath } from '../match-path.js';
import { normalizePath } from './path.js';

/** What `normalize` needs from a config, computed once per config object. */
export interface DerivedConfig {
  /** Upper-cased methods that count. */
  methods: ReadonlySet<string>;
  /** Lower-cased extra query keys to keep. */
  queryAllowlist: ReadonlySet<string>;
  isExcluded(path: string): boolean;
}

// Keyed by the config object: a tracker's config is frozen, so its derived sets never go stale, and the
// WeakMap lets a dropped config be collected.
const cache = new WeakMap<TrackerConfig, DerivedConfig>();

function excludeMatcher(entries: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const patterns: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' || entry === '') continue;
    const star = entry.indexOf('*');
    if (star === -1) {
      exact.add(normalizePath(entry));
    } else if (star === entry.length - 1) {
      const prefix = entry.slice(0, -1);
      prefixes.push(prefix);
      // `/admin/*` also covers `/admin`: `/admin/` folds to it.
      if (prefix.length > 1 && prefix.endsWith('/')) exact.add(prefix.slice(0, -1));
    } else {
      patterns.push(entry);
    }
  }
  return (path) =>
    exact.has(path) ||
    prefixes.some((prefix) => path.startsWith(prefix)) ||
    patterns.some((pattern) => matchPath(pattern, path));
}

/** The derived view of `config`, cached per object (treat a config as immutable once tracking starts). */
export function derive(config: TrackerConfig): DerivedConfig {
  let derived = cache.get(config);
  if (derived === undefined) {
    derived = {
      methods: new Set((config.methods ?? []).map((method) => String(method).toUpperCase())),
      queryAllowlist: new Set((config.queryAllowlist ?? []).map((key) => String(key).toLowerCase())),
      isExcluded: excludeMatcher(config.excludePaths ?? []),
    };
    cache.set(config, derived);
  }
  return derived;
}
