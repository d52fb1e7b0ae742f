import {
  checkActiveVisitors,
  checkClaimExpired,
  checkEngage,
  checkHotIdentify,
  checkHotTime,
  checkRecordInput,
  checkSessionIds,
  checkSessionRules,
} from '../adapter/hot-store-checks.js';
import { randomHex } from '../defaults.js';
import { AnonError } from '../errors.js';
import type { EngageResult, HotStore, RecordInput, SaltPair, SessionRules, SessionStep } from '../ports.js';
import { sessionize } from '../sessionize.js';
import type { HotSession, Millis } from '../types.js';
import { type HeapItem, IndexedHeap } from './indexed-heap.js';
import { RateCounters } from './rate-counters.js';
import { RecentVisitors } from './recent-visitors.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const DEFAULT_REALTIME_WINDOW_MS = 300_000;

export interface MemoryHotStoreOptions {
  /**
   * Makes the salt of a new 24 h period. Override only for deterministic tests.
   * @default () => randomHex(32)
   */
  newSalt?: () => string;
  /**
   * Live sessions held at most. Past it, `claimExpired` also claims the oldest live sessions (they are
   * finalized early, ended at their last view, and a later view starts a new session), and `overCapacity()`
   * tells the engine to sweep at once — so a flood of new visitors cannot grow memory for 30 minutes.
   * @default 100_000
   */
  maxSessions?: number;
}

/** The in-memory hot store, with a read-only view of its size for tests and benchmarks. */
export interface MemoryHotStore extends HotStore {
  /** Sessions held, live or claimed, until `complete` removes them. */
  sessionCount(): number;
  /** True while more live sessions are held than `maxSessions`. */
  overCapacity(): boolean;
}

/** One held session: live until a sweeper claims it, then owned by that sweeper until `complete`. */
interface Entry extends HeapItem {
  session: HotSession;
  /** End of the current (or last) lease; null while the session was never claimed. */
  leaseUntil: Millis | null;
}

const byLastSeen = (a: Entry, b: Entry): boolean =>
  a.session.lastSeenAt < b.session.lastSeenAt ||
  (a.session.lastSeenAt === b.session.lastSeenAt && a.session.id < b.session.id);

const byLeaseEnd = (a: Entry, b: Entry): boolean => (a.leaseUntil ?? 0) < (b.leaseUntil ?? 0);

/**
 * The in-memory `HotStore`: the reference implementation of docs/semantics.md for one process. Every method
 * is synchronous inside, so each is atomic. Sessions stay until `complete` (the sweeper's job); real-time
 * entries and rate counters expire on their own.
 *
 * @example
 * const tracker = createTracker({ hot: memoryHotStore(), store: memoryStore() });
 */
export function memoryHotStore(options: MemoryHotStoreOptions = {}): MemoryHotStore {
  const newSalt = options.newSalt ?? (() => randomHex(32));
  const maxSessions = options.maxSessions ?? 100_000;
  if (!(Number.isInteger(maxSessions) && maxSessions >= 1)) {
    throw new AnonError('invalid_config', `maxSessions must be an integer >= 1, got ${String(maxSessions)}`, {
      source: 'memory',
    });
  }
  const sessions = new Map<string, Entry>();
  const visitors = new Map<string, string>();
  // Sessions not under a lease, oldest `lastSeenAt` first: `claimExpired` pops only what it returns.
  const idle = new IndexedHeap<Entry>(byLastSeen);
  // Sessions under a lease, earliest end first: a lapsed lease moves its session back to `idle`.
  const leased = new IndexedHeap<Entry>(byLeaseEnd);
  const rates = new RateCounters();
  const recent = new RecentVisitors(DEFAULT_REALTIME_WINDOW_MS);
  const salts = new Map<number, string>();

  /** The visitor's live session: one a sweeper has claimed is the sweeper's, no longer the visitor's. */
  const live = (visitorKey: string): Entry | null => {
    const id = visitors.get(visitorKey);
    const entry = id === undefined ? undefined : sessions.get(id);
    return entry !== undefined && entry.leaseUntil === null ? entry : null;
  };

  const drop = (entry: Entry): void => {
    idle.remove(entry);
    leased.remove(entry);
    sessions.delete(entry.session.id);
    if (visitors.get(entry.session.visitorKey) === entry.session.id)
      visitors.delete(entry.session.visitorKey);
  };

  /** One view, applied synchronously: atomic because nothing else runs until it returns. */
  const record = (input: RecordInput, rules: SessionRules): SessionStep => {
    const at = input.view.at;
    const minute = Math.floor(at / MINUTE_MS);
    if (minute > rates.latestMinute) recent.trimAll(at);
    const viewsThisMinute = rates.hit(input.visitorKey, minute);

    let entry = live(input.visitorKey);
    let movedFrom: string | null = null;
    if (
      entry === null &&
      input.previousVisitorKey !== null &&
      input.previousVisitorKey !== input.visitorKey
    ) {
      entry = live(input.previousVisitorKey);
      if (entry !== null) movedFrom = input.previousVisitorKey;
    }
    // sessionize is pure and returns new objects, so what it returns can be held as is; a session moving to
    // today's key is handed over as a copy under that key.
    const current =
      entry === null
        ? null
        : movedFrom === null
          ? entry.session
          : { ...entry.session, visitorKey: input.visitorKey };
    const step = sessionize(
      current,
      { view: input.view, visitorKey: input.visitorKey, newSessionId: input.newSessionId, viewsThisMinute },
      rules,
    );

    if (movedFrom !== null) visitors.delete(movedFrom);
    if (step.isNew) {
      if (sessions.has(step.session.id)) {
        throw new AnonError('invalid_input', `session id ${step.session.id} is already held`, {
          source: 'memory',
        });
      }
      // The ended session leaves the expiry index here, so no sweeper can also return it.
      if (entry !== null) drop(entry);
      const created: Entry = { session: step.session, leaseUntil: null, heapIndex: -1 };
      sessions.set(created.session.id, created);
      idle.push(created);
    } else if (entry !== null) {
      entry.session = step.session;
      idle.update(entry);
    }
    visitors.set(input.visitorKey, step.session.id);

    if (!step.isBot) {
      recent.touch(input.visitorKey, at, input.scopes, rules.realtimeWindowMs, input.view.userId !== null);
    }
    // The caller gets its own copy of the live session, never the held object.
    step.session = { ...step.session };
    // An ended session found under the previous key keeps the key it lived under (it left the store above).
    if (step.ended !== null && entry !== null && movedFrom !== null) {
      step.ended = { ...step.ended, visitorKey: entry.session.visitorKey };
    }
    return step;
  };

  const store: MemoryHotStore = {
    async salt(now) {
      checkHotTime(now, 'now', 'memory');
      const period = Math.floor(now / DAY_MS);
      let current = salts.get(period);
      if (current === undefined) {
        current = newSalt();
        salts.set(period, current);
      }
      // A salt is gone 48 h after its period began: keys of older days can no longer be linked.
      for (const p of salts.keys()) if (p < period - 1) salts.delete(p);
      const pair: SaltPair = { period, current, previous: salts.get(period - 1) ?? null };
      return pair;
    },

    async recordPageView(input: RecordInput, rules: SessionRules): Promise<SessionStep> {
      checkSessionRules(rules, 'memory');
      checkRecordInput(input, 'memory');
      return record(input, rules);
    },

    async recordPageViews(inputs: readonly RecordInput[], rules: SessionRules): Promise<SessionStep[]> {
      // Every input is checked before any is applied: one bad input rejects the call with nothing changed.
      checkSessionRules(rules, 'memory');
      for (const input of inputs) checkRecordInput(input, 'memory');
      const steps: SessionStep[] = new Array(inputs.length);
      for (let i = 0; i < inputs.length; i++) steps[i] = record(inputs[i]!, rules);
      return steps;
    },

    async engage(visitorKey, viewId, engagedMs, now): Promise<EngageResult | null> {
      checkEngage(viewId, engagedMs, now, 'memory');
      const entry = live(visitorKey);
      if (entry === null || entry.session.lastViewId !== viewId) return null;
      const s = entry.session;
      // A beacon cannot claim more engaged time than has passed since the view.
      if (engagedMs !== null) {
        s.lastEngagedMs = Math.max(
          s.lastEngagedMs ?? 0,
          Math.min(engagedMs, Math.max(0, now - s.lastSeenAt)),
        );
      }
      return {
        sessionId: s.id,
        day: s.lastViewDay,
        at: s.lastSeenAt,
        path: s.exitPath,
        isBot: s.lastViewIsBot,
      };
    },

    async identify(visitorKey, userId, now) {
      checkHotIdentify(userId, now, 'memory');
      const entry = live(visitorKey);
      if (entry === null) return null;
      entry.session.userId = userId;
      return { ...entry.session };
    },

    async activeVisitors(now, windowMs, scope) {
      checkActiveVisitors(now, windowMs, 'memory');
      return recent.count(now, windowMs, scope);
    },

    async claimExpired(now, rules, limit, leaseMs) {
      checkClaimExpired(now, rules, limit, leaseMs, 'memory');
      // A lease that has run out without `complete` (a crashed sweeper) makes its session claimable again.
      for (let top = leased.peek(); top !== undefined && (top.leaseUntil ?? 0) <= now; top = leased.peek()) {
        leased.pop();
        idle.push(top);
      }
      const idleBefore = now - rules.sessionTimeoutMs;
      const claimed: HotSession[] = [];
      while (claimed.length < limit) {
        const top = idle.peek();
        if (top === undefined) break;
        if (top.session.lastSeenAt >= idleBefore && idle.size <= maxSessions) break;
        idle.pop();
        top.leaseUntil = now + leaseMs;
        leased.push(top);
        claimed.push({ ...top.session });
      }
      return claimed;
    },

    async complete(sessionIds) {
      checkSessionIds(sessionIds, 'memory');
      for (const id of sessionIds) {
        const entry = sessions.get(id);
        if (entry !== undefined) drop(entry);
      }
    },

    sessionCount() {
      return sessions.size;
    },

    overCapacity() {
      return idle.size > maxSessions;
    },
  };
  return store;
}
