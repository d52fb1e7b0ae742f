import {
  type AnonError,
  type EngageResult,
  type HotSession,
  type HotStore,
  type Logger,
  type RecordInput,
  randomHex,
  type SaltPair,
  type SessionRules,
  type SessionStep,
  sessionize,
} from '@anon/core';
import {
  checkActiveVisitors,
  checkClaimExpired,
  checkEngage,
  checkHotIdentify,
  checkHotTime,
  checkRecordInput,
  checkSessionIds,
  checkSessionRules,
} from '@anon/core/adapter';
import { defineScripts, guarded, isCluster, pipelined, type RedisClient } from './client.js';
import { redisError } from './errors.js';
import { checkKeyPart, KeyLayout, keySlot } from './keys.js';
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
import { decodeSession } from './session-codec.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/**
 * Most views one `record` script applies on a single Redis: a longer batch is cut into several scripts in one
 * pipeline, so no script holds the server for long (each view costs a few dozen microseconds of server time).
 */
const MAX_VIEWS_PER_SCRIPT = 100;
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

/** One view's part of the `record` script's payload (numbers as the strings JavaScript formatted). */
interface ViewPayload {
  /** The shard base of the view's visitor key (client keyPrefix included). */
  base: string;
  vk: string;
  /** Minute of the view (its rate counter). */
  m: string;
  at: string;
  id: string;
  day: string;
  path: string;
  bot: '0' | '1';
  sid: string;
  /** The view's source and device fields (flat non-null pairs), for a session it starts. */
  src: string[];
  scopes: string[];
  userId?: string;
  prev?: { mode: 'lookup'; base: string; vk: string } | { mode: 'adopt'; fields: string[] };
}

/** The fields a new session copies from its first view: where it came from and on what (all strings). */
const SOURCE_FIELDS = [
  'referrer',
  'referrerHost',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmTerm',
  'utmContent',
  'device',
  'browser',
  'os',
  'country',
  'city',
] as const satisfies readonly (keyof HotSession)[];

/** Flat `[field, value, …]` pairs of the view's non-null source and device fields, as HSET takes them. */
function sourcePairs(view: RecordInput['view']): string[] {
  const out: string[] = [];
  for (const name of SOURCE_FIELDS) {
    const value = view[name];
    if (value !== null && value !== undefined) out.push(name, String(value));
  }
  return out;
}

/** The `record` script's payload: the rules and the views, in order. */
interface RecordPayload {
  botMax: string;
  timeout: string;
  ttl: string;
  window: string;
  /** A single Redis: base of the shared real-time sets (client keyPrefix included); absent on Cluster. */
  rt?: string;
  views: ViewPayload[];
}

/** An input checked and turned into its payload, before anything is sent. */
interface Prepared {
  input: RecordInput;
  visitorKey: string;
  bucket: number;
  /** The previous visitor key, unless absent or equal to `visitorKey`. */
  previousKey: string | null;
  prevBucket: number;
  /** The previous key can no longer hold a session for this view (see `segments`): it is not sent. */
  dropPrevious?: boolean;
  view: ViewPayload;
}

/**
 * Redis Cluster: cuts a batch into segments, applied one after the other, so that applying each segment's
 * views grouped by shard (one script per slot) gives exactly what applying them one by one in order gives.
 * Within a shard the script keeps the order; only a previous visitor key in ANOTHER shard links two groups.
 * Such a key (a "crossing" key) may therefore be referred to by one view of a segment only: a later view that
 * names it again (as its visitor key or its previous key) starts a new segment. One exception needs no cut:
 * the same visitor key naming the same previous key again, which can no longer hold a session for it (the
 * first view moved it, or found the visitor already had one), so that previous key is simply not sent.
 * Segments only happen in the first `sessionTimeoutMs` after a salt rotation, when the engine passes previous
 * keys.
 */
function segments(batch: readonly Prepared[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let named = new Set<string>();
  // Crossing previous key → the visitor key that named it.
  let crossing = new Map<string, string>();
  for (let i = 0; i < batch.length; i++) {
    const p = batch[i] as Prepared;
    const prev = p.previousKey;
    const crosses = prev !== null && p.prevBucket !== p.bucket;
    p.dropPrevious = prev !== null && crossing.get(prev) === p.visitorKey;
    const cut =
      crossing.has(p.visitorKey) ||
      (prev !== null && !p.dropPrevious && (crossing.has(prev) || (crosses && named.has(prev))));
    if (cut && current.length > 0) {
      out.push(current);
      current = [];
      named = new Set();
      crossing = new Map();
      p.dropPrevious = false;
    }
    current.push(i);
    named.add(p.visitorKey);
    if (prev !== null && !p.dropPrevious) {
      named.add(prev);
      if (crosses) crossing.set(prev, p.visitorKey);
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The Redis `HotStore`: a batch of page views is one pipeline (one round trip) of Lua scripts (EVALSHA) that,
 * for each view in order and atomically, count the rate, continue or start the visitor's session, refresh
 * TTLs, the expiry index and the real-time sets. On a single Redis one script takes up to 100 views and the
 * real-time sets are one per scope for every visitor; on Redis Cluster one script per shard (one hash tag, one
 * slot), one pipeline per master, and each shard keeps its own real-time sets.
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
  // A single Redis keeps one real-time set per scope for every visitor: a batch writes each set once, where a set
  // per shard and scope would take a write per view. On Cluster a script reaches its own slot only.
  const sharedRealtime = cluster ? undefined : clientPrefix + keys.sharedRealtimeBase();

  const scripts = defineScripts(redis, {
    record: { lua: RECORD_LUA, keys: 3 },
    detach: { lua: DETACH_LUA, keys: 2 },
    engage: { lua: ENGAGE_LUA, keys: 2 },
    identify: { lua: IDENTIFY_LUA, keys: 2 },
    peek: { lua: PEEK_LUA, keys: 2 },
    claim: { lua: CLAIM_LUA, keys: 2 },
    complete: { lua: COMPLETE_LUA, keys: 2 },
    salt: { lua: SALT_LUA, keys: 1 },
  });

  // Which shard a claimed session lives in, so `complete` goes straight to it.
  const claimedIn = new Map<string, number>();

  const run = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    guarded(redis, 'hot_store_failed', operation, timeoutMs, fn);
  // The sweeper's calls visit every shard, off the request path: they get ten times longer.
  const runSweep = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    guarded(redis, 'hot_store_failed', operation, timeoutMs * 10, fn);

  const allBuckets = Array.from({ length: keys.buckets }, (_, i) => i);

  // The slot of each shard (client keyPrefix included), to group a batch's script calls per Cluster node.
  const slots = allBuckets.map((b) => keySlot(clientPrefix + keys.expiry(b)));

  /**
   * Checks every input and builds its part of a script payload, before anything is sent: one invalid input
   * rejects the whole call with nothing applied.
   */
  const prepare = (input: RecordInput): Prepared => {
    checkRecordInput(input, 'redis');
    // Redis only: every part of a key is bounded in length.
    const visitorKey = checkKeyPart('visitorKey', input.visitorKey);
    checkKeyPart('newSessionId', input.newSessionId);
    const scopes = input.scopes ?? [];
    if (!Array.isArray(scopes)) throw invalidInput('scopes must be an array');
    for (const scope of scopes) checkKeyPart('scope', scope);
    const at = input.view.at;
    const previousKey =
      input.previousVisitorKey !== null &&
      input.previousVisitorKey !== undefined &&
      input.previousVisitorKey !== visitorKey
        ? checkKeyPart('previousVisitorKey', input.previousVisitorKey)
        : null;
    const bucket = keys.bucketOf(visitorKey);
    const view: ViewPayload = {
      base: argBase(bucket),
      vk: visitorKey,
      m: String(Math.floor(at / MINUTE_MS)),
      at: String(at),
      id: input.view.id,
      day: input.view.day,
      path: input.view.path,
      bot: input.view.isBot ? '1' : '0',
      sid: input.newSessionId,
      // What a session this view starts takes from the view besides the fields above (the script writes the
      // rest of the new session from them, as `sessionize` does).
      src: sourcePairs(input.view),
      scopes,
    };
    if (input.view.userId !== null && input.view.userId !== undefined) view.userId = input.view.userId;
    return {
      input,
      visitorKey,
      bucket,
      previousKey,
      prevBucket: previousKey === null ? bucket : keys.bucketOf(previousKey),
      view,
    };
  };

  /**
   * Applies one segment (see `segments`). On a single Redis: the views in consecutive chunks, one `record`
   * script each, all in one pipeline (a connection runs them in order, so every view sees the ones before it,
   * previous keys included). On Cluster: first the sessions of previous visitor keys in other slots are
   * detached (one script per shard, pipelined), then one `record` script per shard group, in one pipeline per
   * node. Fills `steps` at the inputs' positions.
   */
  const applySegment = async (
    batch: readonly Prepared[],
    segment: readonly number[],
    shared: Omit<RecordPayload, 'views'>,
    rules: SessionRules,
    steps: SessionStep[],
  ): Promise<void> => {
    const adopting = new Set<number>();
    const groups: [bucket: number, members: number[]][] = [];
    if (!cluster) {
      for (const i of segment) {
        const p = batch[i] as Prepared;
        if (p.previousKey !== null) {
          p.view.prev = { mode: 'lookup', base: argBase(p.prevBucket), vk: p.previousKey };
        }
      }
      for (let start = 0; start < segment.length; start += MAX_VIEWS_PER_SCRIPT) {
        const members = segment.slice(start, start + MAX_VIEWS_PER_SCRIPT);
        groups.push([(batch[members[0] as number] as Prepared).bucket, members]);
      }
    } else {
      const detachBy = new Map<number, number[]>();
      const byBucket = new Map<number, number[]>();
      for (const i of segment) {
        const p = batch[i] as Prepared;
        const members = byBucket.get(p.bucket);
        if (members === undefined) byBucket.set(p.bucket, [i]);
        else members.push(i);
        if (p.previousKey === null || p.dropPrevious) continue;
        if (p.prevBucket === p.bucket) {
          // A previous key in this view's own slot is read by the view's script itself.
          p.view.prev = { mode: 'lookup', base: argBase(p.bucket), vk: p.previousKey };
        } else {
          const detach = detachBy.get(p.prevBucket);
          if (detach === undefined) detachBy.set(p.prevBucket, [i]);
          else detach.push(i);
        }
      }
      groups.push(...byBucket);
      if (detachBy.size > 0) {
        const detaching = [...detachBy];
        const replies = await pipelined(
          redis,
          detaching.map(([bucket, members]) => ({
            script: scripts.detach,
            slot: slots[bucket] as number,
            args: [
              keys.expiry(bucket),
              keys.lease(bucket),
              argBase(bucket),
              ...members.map((i) => (batch[i] as Prepared).previousKey as string),
            ],
          })),
        );
        detaching.forEach(([, members], g) => {
          const flats = replies[g] as string[][];
          members.forEach((i, j) => {
            const fields = flats[j] ?? [];
            if (fields.length > 0) {
              (batch[i] as Prepared).view.prev = { mode: 'adopt', fields };
              adopting.add(i);
            }
          });
        });
      }
    }

    let replies: unknown[];
    try {
      replies = await pipelined(
        redis,
        groups.map(([bucket, members]) => {
          const payload: RecordPayload = {
            ...shared,
            views: members.map((i) => (batch[i] as Prepared).view),
          };
          return {
            script: scripts.record,
            slot: slots[bucket] as number,
            args: [keys.expiry(bucket), keys.lease(bucket), keys.realtime(bucket), JSON.stringify(payload)],
          };
        }),
      );
    } catch (error) {
      if (adopting.size > 0) {
        logger?.warn(
          `[anon] [redis] ${adopting.size} session(s) detached after a salt rotation could not be adopted`,
          { error: error instanceof Error ? error.message : String(error) },
        );
      }
      throw error;
    }
    groups.forEach(([, members], g) => {
      const flat = parseRecordReply(replies[g], members.length);
      members.forEach((i, j) => {
        const p = batch[i] as Prepared;
        const curFlat = flat[2 * j + 1];
        const live = Array.isArray(curFlat) && curFlat.length > 0 ? decodeSession(curFlat) : null;
        // The script applied the same reducer to the same state; this gives the caller its exact result.
        const step = sessionize(
          live === null ? null : { ...live, visitorKey: p.visitorKey },
          {
            view: p.input.view,
            visitorKey: p.visitorKey,
            newSessionId: p.input.newSessionId,
            viewsThisMinute: Number(flat[2 * j]),
          },
          rules,
        );
        // An ended session found under the previous key keeps the key it lived under.
        if (step.ended !== null && live !== null) step.ended = { ...step.ended, visitorKey: live.visitorKey };
        steps[i] = step;
      });
    });
  };

  const recordBatch = (
    operation: string,
    inputs: readonly RecordInput[],
    rules: SessionRules,
  ): Promise<SessionStep[]> =>
    run(operation, async () => {
      if (!Array.isArray(inputs)) throw invalidInput('inputs must be an array');
      checkSessionRules(rules, 'redis');
      const batch = inputs.map((input) => prepare(input));
      const steps: SessionStep[] = new Array(batch.length);
      if (batch.length === 0) return steps;
      const shared: Omit<RecordPayload, 'views'> = {
        botMax: String(rules.botMaxViewsPerMinute),
        timeout: String(rules.sessionTimeoutMs),
        ttl: String(Math.ceil(rules.sessionTimeoutMs + ttlMarginMs)),
        window: String(Math.ceil(rules.realtimeWindowMs)),
      };
      if (sharedRealtime !== undefined) shared.rt = sharedRealtime;
      // On a single Redis the whole batch is one segment: its pipeline runs every view in order.
      const parts = cluster ? segments(batch) : [batch.map((_, i) => i)];
      for (const segment of parts) await applySegment(batch, segment, shared, rules, steps);
      return steps;
    });

  const store: HotStore = {
    salt(now) {
      checkHotTime(now, 'now', 'redis');
      const period = Math.floor(now / DAY_MS);
      // Read from Redis at every call (the engine asks about once a minute), never cached here: after Redis
      // lost its data, every instance must move to the one new salt.
      return run('salt', async () => {
        const [current, previous] = (await scripts.salt(keys.salts(), String(period), randomHex(32))) as [
          string,
          string | null,
        ];
        const pair: SaltPair = { period, current, previous: previous ?? null };
        return pair;
      });
    },

    async recordPageView(input: RecordInput, rules: SessionRules) {
      const [step] = await recordBatch('recordPageView', [input], rules);
      return step as SessionStep;
    },

    recordPageViews(inputs: readonly RecordInput[], rules: SessionRules) {
      return recordBatch('recordPageViews', inputs, rules);
    },

    engage(visitorKey, viewId, engagedMs, now) {
      return run('engage', async () => {
        checkKeyPart('visitorKey', visitorKey);
        checkEngage(viewId, engagedMs, now, 'redis');
        const bucket = keys.bucketOf(visitorKey);
        const reply = (await scripts.engage(
          keys.pointer(bucket, visitorKey),
          keys.lease(bucket),
          argBase(bucket),
          viewId,
          engagedMs === null ? '' : String(engagedMs),
          String(now),
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
        checkHotIdentify(userId, now, 'redis');
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
        checkActiveVisitors(now, windowMs, 'redis');
        if (scope !== undefined) checkKeyPart('scope', scope);
        // On Cluster a visitor key lives in one shard only, so the shards' counts add up to distinct visitors. A
        // single Redis reads its shared sets, and the per-shard sets an earlier release wrote while any is left
        // (they expire one window after its last write; a visitor in both is counted twice until then).
        let sets: (number | null)[] = allBuckets;
        if (!cluster) {
          const legacy = allBuckets.flatMap((b) => [
            keys.realtime(b, scope),
            keys.realtimeAuthenticated(b, scope),
          ]);
          sets = (await redis.exists(...legacy)) > 0 ? [null, ...allBuckets] : [null];
        }
        const from = `(${now - windowMs}`;
        const to = String(now);
        const counts = await Promise.all(
          sets.map((b) =>
            Promise.all([
              redis.zcount(keys.realtime(b, scope), from, to),
              redis.zcount(keys.realtimeAuthenticated(b, scope), from, to),
            ]),
          ),
        );
        let total = 0;
        let authenticated = 0;
        for (const [all, auth] of counts) {
          total += Number(all);
          authenticated += Number(auth);
        }
        // Read as of a time before some views, a visitor can be authenticated in the window yet last seen after
        // it: capped so that total = authenticated + anonymous holds.
        authenticated = Math.min(total, authenticated);
        return { total, authenticated, anonymous: total - authenticated };
      });
    },

    claimExpired(now, rules, limit, leaseMs) {
      return runSweep('claimExpired', async () => {
        checkClaimExpired(now, rules, limit, leaseMs, 'redis');
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
        checkSessionIds(sessionIds, 'redis');
        if (sessionIds.length === 0) return;
        const byBucket = new Map<number, string[]>();
        const unknown: string[] = [];
        for (const id of sessionIds) {
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

/**
 * The `record` script's reply: one JSON string, `[count, session or false, …]` for `views` views. Anything else
 * (an older script's RESP array included) is a `hot_store_failed`.
 */
function parseRecordReply(reply: unknown, views: number): unknown[] {
  let parsed: unknown;
  try {
    parsed = typeof reply === 'string' ? JSON.parse(reply) : null;
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || parsed.length !== views * 2) {
    throw redisError('hot_store_failed', 'unexpected reply from the record script');
  }
  return parsed;
}

/** A Redis-only argument check failed (the shared ones are in `@anon/core/adapter`). */
function invalidInput(message: string): AnonError {
  return redisError('invalid_input', message);
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw redisError('invalid_config', `${name} must be a finite number ≥ 0`);
  }
  return value;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw redisError('invalid_config', `${name} must be a finite number > 0`);
  }
  return value;
}
