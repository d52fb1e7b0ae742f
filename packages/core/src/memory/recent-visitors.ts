import type { ActiveVisitors } from '../types.js';

/**
 * One real-time set: visitor key → time of their latest view counted in it, with the visitors whose latest
 * authenticated view is kept apart. Each map is kept in write order, so trimming walks only the expired
 * entries at its front.
 */
interface Recent {
  all: Map<string, number>;
  authenticated: Map<string, number>;
}

const newRecent = (): Recent => ({ all: new Map(), authenticated: new Map() });

/**
 * Real-time sets for the overall site and each scope. A visitor counts as authenticated when one of their views
 * in the window carried a user id; every authenticated visitor is also in `all` (at the same or a later time),
 * so `anonymous = total − authenticated` is never negative.
 */
export class RecentVisitors {
  readonly #overall = newRecent();
  readonly #scopes = new Map<string, Recent>();
  /** How long an entry lives; the latest `realtimeWindowMs` a view was recorded with. */
  #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /**
   * Records a view at `at` overall and in each scope. Nothing is trimmed here (a scan per view costs more than
   * the view): `count` trims the set it reads, and the hot store calls `trimAll` once a minute.
   */
  touch(
    visitorKey: string,
    at: number,
    scopes: readonly string[],
    windowMs: number,
    authenticated: boolean,
  ): void {
    this.#windowMs = windowMs;
    touchRecent(this.#overall, visitorKey, at, authenticated);
    for (const scope of scopes) {
      let recent = this.#scopes.get(scope);
      if (recent === undefined) {
        recent = newRecent();
        this.#scopes.set(scope, recent);
      }
      touchRecent(recent, visitorKey, at, authenticated);
    }
  }

  /** Distinct visitors with a view in `(now − windowMs, now]`, overall or in `scope`, split by authentication. */
  count(now: number, windowMs: number, scope?: string): ActiveVisitors {
    const recent = scope === undefined ? this.#overall : this.#scopes.get(scope);
    if (recent === undefined) return { total: 0, authenticated: 0, anonymous: 0 };
    const cutoff = now - this.#windowMs;
    trim(recent.all, cutoff);
    trim(recent.authenticated, cutoff);
    if (scope !== undefined && recent.all.size === 0) this.#scopes.delete(scope);
    const from = now - windowMs;
    const total = countIn(recent.all, from, now);
    // Read as of a time before some views, a visitor may be authenticated in the window but last seen after
    // it: capped so that `total = authenticated + anonymous` holds.
    const authenticated = Math.min(total, countIn(recent.authenticated, from, now));
    return { total, authenticated, anonymous: total - authenticated };
  }

  /** Trims every map as of `now` and forgets empty scopes, so scopes seen once do not stay forever. */
  trimAll(now: number): void {
    const cutoff = now - this.#windowMs;
    trim(this.#overall.all, cutoff);
    trim(this.#overall.authenticated, cutoff);
    for (const [scope, recent] of this.#scopes) {
      trim(recent.all, cutoff);
      trim(recent.authenticated, cutoff);
      if (recent.all.size === 0) this.#scopes.delete(scope);
    }
  }

  /** Entries held, over all maps (for tests of the trimming). */
  get size(): number {
    let n = this.#overall.all.size + this.#overall.authenticated.size;
    for (const recent of this.#scopes.values()) n += recent.all.size + recent.authenticated.size;
    return n;
  }
}

function touchRecent(recent: Recent, visitorKey: string, at: number, authenticated: boolean): void {
  touchOne(recent.all, visitorKey, at);
  if (authenticated) touchOne(recent.authenticated, visitorKey, at);
}

function countIn(map: Map<string, number>, from: number, now: number): number {
  let n = 0;
  for (const at of map.values()) if (at > from && at <= now) n++;
  return n;
}

function touchOne(map: Map<string, number>, visitorKey: string, at: number): void {
  const seen = map.get(visitorKey);
  if (seen === undefined || at > seen) {
    // Re-inserting moves the key to the back: the map stays (nearly) ordered by time for `trim`.
    if (seen !== undefined) map.delete(visitorKey);
    map.set(visitorKey, at);
  }
}

/** Drops entries at or before `cutoff` from the front; a late out-of-order entry waits for a later trim. */
function trim(map: Map<string, number>, cutoff: number): void {
  for (const [key, at] of map) {
    if (at > cutoff) return;
    map.delete(key);
  }
}
