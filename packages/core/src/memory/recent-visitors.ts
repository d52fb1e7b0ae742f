/**
 * Real-time sets: for the overall site and each scope, visitor key → time of their latest non-bot view. Each
 * map is kept in write order, so trimming walks only the expired entries at its front.
 */
export class RecentVisitors {
  readonly #overall = new Map<string, number>();
  readonly #scopes = new Map<string, Map<string, number>>();
  /** How long an entry lives; the latest `realtimeWindowMs` a view was recorded with. */
  #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records a view at `at` overall and in each scope, then trims what has expired at `at`. */
  touch(visitorKey: string, at: number, scopes: readonly string[], windowMs: number): void {
    this.#windowMs = windowMs;
    const cutoff = at - windowMs;
    touchOne(this.#overall, visitorKey, at, cutoff);
    for (const scope of scopes) {
      let map = this.#scopes.get(scope);
      if (map === undefined) {
        map = new Map();
        this.#scopes.set(scope, map);
      }
      touchOne(map, visitorKey, at, cutoff);
    }
  }

  /** Distinct visitors with a view in `(now − windowMs, now]`, overall or in `scope`. */
  count(now: number, windowMs: number, scope?: string): number {
    const map = scope === undefined ? this.#overall : this.#scopes.get(scope);
    if (map === undefined) return 0;
    trim(map, now - this.#windowMs);
    if (scope !== undefined && map.size === 0) this.#scopes.delete(scope);
    const from = now - windowMs;
    let n = 0;
    for (const at of map.values()) if (at > from && at <= now) n++;
    return n;
  }

  /** Trims every map as of `now` and forgets empty scopes, so scopes seen once do not stay forever. */
  trimAll(now: number): void {
    const cutoff = now - this.#windowMs;
    trim(this.#overall, cutoff);
    for (const [scope, map] of this.#scopes) {
      trim(map, cutoff);
      if (map.size === 0) this.#scopes.delete(scope);
    }
  }

  /** Entries held, over all maps (for tests of the trimming). */
  get size(): number {
    let n = this.#overall.size;
    for (const map of this.#scopes.values()) n += map.size;
    return n;
  }
}

function touchOne(map: Map<string, number>, visitorKey: string, at: number, cutoff: number): void {
  const seen = map.get(visitorKey);
  if (seen === undefined || at > seen) {
    // Re-inserting moves the key to the back: the map stays (nearly) ordered by time for `trim`.
    map.delete(visitorKey);
    map.set(visitorKey, at);
  }
  trim(map, cutoff);
}

/** Drops entries at or before `cutoff` from the front; a late out-of-order entry waits for a later trim. */
function trim(map: Map<string, number>, cutoff: number): void {
  for (const [key, at] of map) {
    if (at > cutoff) return;
    map.delete(key);
  }
}
