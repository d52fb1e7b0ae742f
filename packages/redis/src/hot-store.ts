import {
  AnonError,
  type EngageResult,
  type HotSession,
  type HotStore,
  type Logger,
  type RecordInput,
  randomHex,
  type SaltPair,
  type SessionRules,
  sessionize,
} from '@anon/core';
import { defineScripts, guarded, isCluster, type RedisClient } from './client.js';
import { checkKeyPart, KeyLayout } from './keys.js';
import {
  CLAIM_LUA,
  COMPLETE_LUA,
  DETACH_LUA,
  ENGAGE_LUA,
  IDENTIFY_LUA,
  PEEK_LUA,
  RECORD_LUA,
  SALT_LUA,
} from './scripts.js';
import { decodeSession, encodeSession } from './session-codec.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Rounds of peek-then-claim before `claimExpired` settles for fewer than `limit` (other sweepers won the rest). */
const CLAIM_ROUNDS = 4;

export interface RedisHotStoreOptions {
  /** Prefix of every key the hot store writes; must not contain `{` or `}`. @default 'anon:' */
  prefix?: string;
  /**
   * Shards visitors are spread over. Each shard is one hash tag (`{b<n>}`), so one Cluster slot; use at least
   * 8 × the number of Cluster masters. Changing it moves every visitor to another shard: change it only
   * while no session is live. @default 64
   */
  buckets?: number;
  /**
   * How long session keys outlive the session timeout (and a lease), so sessions survive a sweeper outage
   * this long before Redis drops them unfinalized. @default 3_600_000 (1 h)
   */
  ttlMarginMs?: number;
  /** A call Redis has not answered in this time rejects with `hot_store_failed`. @default 1_000 */
  timeoutMs?: number;
  /** Receives a warning when a session cannot be moved after a salt rotation (Cluster). @default none */
  logger?: Logger;
}

/** What a Redis reply to the `record` script looks like: `[viewsThisMinute, live session (flat hash)]`. */
type RecordReply = [number, string[]];

/**
 * The Redis `HotStore`: each page view is one Lua script (EVALSHA, one round trip) that counts the rate,
 * continues or starts the visitor's session, refreshes TTLs, the expiry index and the real-time sets. Works
 * on a single Redis and on Redis Cluster: every script touches one shard's hash tag.
 *
 * The client is the user's; `close()` leaves it open. Recommended client options: `enableOfflineQueue:
 * false` (fail fast while disconnected) or a short `commandTimeout`, and `maxRetriesPerRequest: 1`.
 *
 * @example
 * const redis = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false });
 * const tracker = createTracker({ hot: redisHotStore(redis), store });
 */
export function redisHotStore(redis: RedisClient, options: RedisHotStoreOptions = {}): HotStore {
  const keys = new KeyLayout(options.prefix ?? 'anon:', options.buckets ?? 64);
  const ttlMarginMs = nonNegative(options.ttlMarginMs ?? 3_600_000, 'ttlMarginMs');
  const timeoutMs = positive(options.timeoutMs ?? 1_000, 'timeoutMs');
  const logger = options.logger;
  const cluster = isCluster(redis);
  // ioredis prefixes KEYS with the client's `keyPrefix`; keys a script builds itself need it too.
  const clientPrefix = (redis.options as { keyPrefix?: string }).keyPrefix ?? '';
  const argBase = (bucket: number): string => clientPrefix + keys.base(bucket);

  const scripts = defineScripts(redis, {
    record: { lua: RECORD_LUA, keys: 8 },
    detach: { lua: DETACH_LUA, keys: 3 },
    engage: { lua: ENGAGE_LUA, keys: 2 },
    identify: { lua: IDENTIFY_LUA, keys: 2 },
    peek: { lua: PEEK_LUA, keys: 2 },
    claim: { lua: CLAIM_LUA, keys: 2 },
    complete: { lua: COMPLETE_LUA, keys: 2 },
    salt: { lua: SALT_LUA, keys: 1 },
  });

  // A period's salts never change once read: one Redis call per instance and period.
  const salts = new Map<number, SaltPair>();
  // Which shard a claimed session lives in, so `complete` goes straight to it.
  const claimedIn = new Map<string, number>();

  const run = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    guarded(redis, 'hot_store_failed', operation, timeoutMs, fn);
  // The sweeper's calls visit every shard, off the request path: they get ten times longer.
  const runSweep = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    guarded(redis, 'hot_store_failed', operation, timeoutMs * 10, fn);

  const allBuckets = Array.from({ length: keys.buckets }, (_, i) => i);

  /** Cluster only: take the previous key's session out of its slot, to be adopted by `record`. */
  const detach = async (previousVisitorKey: string): Promise<string[] | null> => {
    const bucket = keys.bucketOf(previousVisitorKey);
    const flat = (await scripts.detach(
      keys.pointer(bucket, previousVisitorKey),
      keys.expiry(bucket),
      keys.lease(bucket),
      argBase(bucket),
    )) as string[];
    return flat.length > 0 ? flat : null;
  };

  const store: HotStore = {
    salt(now) {
      checkTime(now, 'now');
      const period = Math.floor(now / DAY_MS);
      const cached = salts.get(period);
      if (cached !== undefined) return Promise.resolve(cached);
      return run('salt', async () => {
        // A salt is gone 48 h after its period began (Redis counts the TTL on its own clock).
        const ttl = Math.max(1, (period + 2) * DAY_MS - now);
        const [current, previous] = await Promise.all([
          scripts.salt(keys.salt(period), randomHex(32), Math.ceil(ttl)) as Promise<string>,
          redis.get(keys.salt(period - 1)),
        ]);
        const pair: SaltPair = { period, current, previous };
        salts.set(period, pair);
        for (const p of salts.keys()) if (p < period - 1) salts.delete(p);
        return pair;
      });
    },

    recordPageView(input: RecordInput, rules: SessionRules) {
      return run('recordPageView', async () => {
        const visitorKey = checkKeyPart('visitorKey', input.visitorKey);
        checkKeyPart('newSessionId', input.newSessionId);
        checkTime(input.view.at, 'view.at');
        checkRules(rules);
        const scopes = input.scopes ?? [];
        for (const scope of scopes) checkKeyPart('scope', scope);
        const at = input.view.at;
        const bucket = keys.bucketOf(visitorKey);
        const ttl = Math.ceil(rules.sessionTimeoutMs + ttlMarginMs);

        const previousKey =
          input.previousVisitorKey !== null && input.previousVisitorKey !== visitorKey
            ? checkKeyPart('previousVisitorKey', input.previousVisitorKey)
            : null;
        const prevBucket = previousKey === null ? bucket : keys.bucketOf(previousKey);
        let prev: Record<string, unknown> | undefined;
        if (previousKey !== null) {
          if (!cluster || prevBucket === bucket) {
            prev = { mode: 'lookup', base: argBase(prevBucket) };
          } else {
            // Another slot: detach first, then adopt in this view's script (two round trips, only right after
            // a salt rotation). If the second call fails, that session is lost to finalization.
            const fields = await detach(previousKey);
            if (fields !== null) prev = { mode: 'adopt', fields };
          }
        }

        const start = sessionize(
          null,
          { view: input.view, visitorKey, newSessionId: input.newSessionId, viewsThisMinute: 0 },
          rules,
        ).session;
        const payload: Record<string, unknown> = {
          base: argBase(bucket),
          vk: visitorKey,
          at: String(at),
          id: input.view.id,
          day: input.view.day,
          path: input.view.path,
          bot: input.view.isBot ? '1' : '0',
          botMax: String(rules.botMaxViewsPerMinute),
          timeout: String(rules.sessionTimeoutMs),
          ttl: String(ttl),
          window: String(Math.ceil(rules.realtimeWindowMs)),
          sid: input.newSessionId,
          // The new session's fields but its bot flags, which depend on the rate the script counts.
          start: encodeSession({
            ...start,
            lastViewIsBot: undefined,
            isBot: undefined,
          } as Partial<HotSession>),
          scopes,
        };
        if (input.view.userId !== null) payload.userId = input.view.userId;
        if (prev !== undefined) payload.prev = prev;

        // Only a same-script lookup declares the previous key's shard; otherwise every key is in this one.
        const declared = prev?.mode === 'lookup' ? prevBucket : bucket;
        const declaredKey = prev?.mode === 'lookup' ? (previousKey as string) : visitorKey;
        let reply: RecordReply;
        try {
          reply = (await scripts.record(
            keys.pointer(bucket, visitorKey),
            keys.rate(bucket, visitorKey, Math.floor(at / MINUTE_MS)),
            keys.expiry(bucket),
            keys.lease(bucket),
            keys.realtime(bucket),
            keys.pointer(declared, declaredKey),
            keys.expiry(declared),
            keys.lease(declared),
            JSON.stringify(payload),
          )) as RecordReply;
        } catch (error) {
          if (prev?.mode === 'adopt') {
            logger?.warn('[anon] [redis] a session detached after a salt rotation could not be adopted', {
              error: error instanceof Error ? error.message : String(error),
            });
          }
          throw error;
        }
        const [viewsThisMinute, flat] = reply;
        const live = flat.length > 0 ? decodeSession(flat) : null;
        // The script applied the same reducer to the same state; this gives the caller its exact result.
        const step = sessionize(
          live === null ? null : { ...live, visitorKey },
          {
            view: input.view,
            visitorKey,
            newSessionId: input.newSessionId,
            viewsThisMinute: Number(viewsThisMinute),
          },
          rules,
        );
        // An ended session found under the previous key keeps the key it lived under.
        return {
          ...step,
          ended: step.ended === null || live === null ? null : { ...step.ended, visitorKey: live.visitorKey },
        };
      });
    },

    engage(visitorKey, viewId, engagedMs, now) {
      return run('engage', async () => {
        checkKeyPart('visitorKey', visitorKey);
        checkTime(now, 'now');
        if (typeof viewId !== 'string') throw invalid('viewId must be a string');
        if (engagedMs !== null && !(Number.isFinite(engagedMs) && engagedMs >= 0)) {
          throw invalid('engagedMs must be a finite number ≥ 0 or null');
        }
        const bucket = keys.bucketOf(visitorKey);
        const reply = (await scripts.engage(
          keys.pointer(bucket, visitorKey),
          keys.lease(bucket),
          argBase(bucket),
          viewId,
          engagedMs === null ? '' : String(engagedMs),
        )) as [string, string, string, string, string] | null;
        if (reply === null) return null;
        const result: EngageResult = {
          sessionId: reply[0],
          day: reply[1],
          at: Number(reply[2]),
          path: reply[3],
          isBot: reply[4] === '1',
        };
        return result;
      });
    },

    identify(visitorKey, userId, now) {
      return run('identify', async () => {
        checkKeyPart('visitorKey', visitorKey);
        checkTime(now, 'now');
        if (typeof userId !== 'string') throw invalid('userId must be a string');
        const bucket = keys.bucketOf(visitorKey);
        const flat = (await scripts.identify(
          keys.pointer(bucket, visitorKey),
          keys.lease(bucket),
          argBase(bucket),
          userId,
        )) as string[] | null;
        return flat === null ? null : decodeSession(flat);
      });
    },

    activeVisitors(now, windowMs, scope) {
      return run('activeVisitors', async () => {
        checkTime(now, 'now');
        if (!(Number.isFinite(windowMs) && windowMs >= 0))
          throw invalid('windowMs must be a finite number ≥ 0');
        if (scope !== undefined) checkKeyPart('scope', scope);
        // A visitor key lives in one shard only, so the shards' counts add up to distinct visitors.
        const counts = await Promise.all(
          allBuckets.map((b) => redis.zcount(keys.realtime(b, scope), `(${now - windowMs}`, String(now))),
        );
        return counts.reduce((sum, n) => sum + Number(n), 0);
      });
    },

    claimExpired(now, rules, limit, leaseMs) {
      return runSweep('claimExpired', async () => {
        checkTime(now, 'now');
        checkRules(rules);
        if (!(Number.isInteger(limit) && limit >= 0)) throw invalid('limit must be an integer ≥ 0');
        if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw invalid('leaseMs must be a finite number > 0');
        const claimed: HotSession[] = [];
        const leaseEnd = String(now + leaseMs);
        const sessionTtl = Math.ceil(leaseMs + ttlMarginMs);
        for (let round = 0; round < CLAIM_ROUNDS && claimed.length < limit; round++) {
          const want = limit - claimed.length;
          // Peek every shard, keep the globally oldest, then claim them where they live (re-checked there).
          const peeks = await Promise.all(
            allBuckets.map(async (bucket) => {
              const flat = (await scripts.peek(
                keys.expiry(bucket),
                keys.lease(bucket),
                argBase(bucket),
                String(now),
                String(rules.sessionTimeoutMs),
                want,
              )) as string[];
              const found: { bucket: number; id: string; lastSeenAt: number }[] = [];
              for (let i = 0; i < flat.length; i += 2) {
                found.push({ bucket, id: String(flat[i]), lastSeenAt: Number(flat[i + 1]) });
              }
              return found;
            }),
          );
          const chosen = peeks
            .flat()
            .sort((a, b) => a.lastSeenAt - b.lastSeenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
            .slice(0, want);
          if (chosen.length === 0) break;
          const byBucket = new Map<number, string[]>();
          for (const c of chosen) byBucket.set(c.bucket, [...(byBucket.get(c.bucket) ?? []), c.id]);
          const results = await Promise.all(
            [...byBucket].map(async ([bucket, ids]) => {
              const flats = (await scripts.claim(
                keys.expiry(bucket),
                keys.lease(bucket),
                argBase(bucket),
                String(now),
                String(rules.sessionTimeoutMs),
                leaseEnd,
                String(sessionTtl),
                ...ids,
              )) as string[][];
              return flats.map((flat) => {
                const session = decodeSession(flat);
                // Bounded: entries of sessions that were never completed here must not pile up.
                if (claimedIn.size >= 100_000) claimedIn.clear();
                claimedIn.set(session.id, bucket);
                return session;
              });
            }),
          );
          claimed.push(...results.flat());
        }
        return claimed.sort(
          (a, b) => a.lastSeenAt - b.lastSeenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
      });
    },

    complete(sessionIds) {
      return runSweep('complete', async () => {
        if (!Array.isArray(sessionIds)) throw invalid('sessionIds must be an array');
        if (sessionIds.length === 0) return;
        const byBucket = new Map<number, string[]>();
        const unknown: string[] = [];
        for (const id of sessionIds) {
          if (typeof id !== 'string') throw invalid('session ids must be strings');
          const bucket = claimedIn.get(id);
          if (bucket === undefined) unknown.push(id);
          else byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), id]);
        }
        // Sessions claimed by another instance: their shard is unknown here, so every shard is asked.
        if (unknown.length > 0) {
          for (const bucket of allBuckets)
            byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), ...unknown]);
        }
        await Promise.all(
          [...byBucket].map(([bucket, ids]) =>
            scripts.complete(keys.expiry(bucket), keys.lease(bucket), argBase(bucket), ...ids),
          ),
        );
        for (const id of sessionIds) claimedIn.delete(id);
      });
    },

    async close() {
      // The client belongs to the caller, who closes it.
      claimedIn.clear();
    },
  };
  return store;
}

function invalid(message: string): AnonError {
  return new AnonError('invalid_input', message, { source: 'redis' });
}

function checkTime(value: number, name: string): void {
  if (!Number.isFinite(value)) throw invalid(`${name} must be a finite number of milliseconds`);
}

function checkRules(rules: SessionRules): void {
  for (const name of [
    'sessionTimeoutMs',
    'persistEvery',
    'botMaxViewsPerMinute',
    'realtimeWindowMs',
  ] as const) {
    if (!(Number.isFinite(rules?.[name]) && rules[name] >= 0))
      throw invalid(`rules.${name} must be a finite number ≥ 0`);
  }
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new AnonError('invalid_config', `${name} must be a finite number ≥ 0`, { source: 'redis' });
  }
  return value;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new AnonError('invalid_config', `${name} must be a finite number > 0`, { source: 'redis' });
  }
  return value;
}
