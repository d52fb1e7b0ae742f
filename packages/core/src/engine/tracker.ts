import { parseBeacon } from '../beacon.js';
import { LIMITS, type TrackerConfig } from '../config.js';
import { dayOf } from '../day.js';
import { consoleLogger, systemClock, uuidv7Ids, webCryptoHasher } from '../defaults.js';
import { AnonError } from '../errors.js';
import { memoryHotStore, memoryQueue } from '../memory/index.js';
import { createUaParser, type NormalizedRequest, normalize } from '../normalize/index.js';
import type { Consumer, EngageResult, HotStore, Queue, SessionRules, ViewDraft } from '../ports.js';
import { sessionSummary } from '../sessionize.js';
import type { AnonEvent, IdentifyKind, Millis, RequestInfo } from '../types.js';
import type { BeaconResult, Tracker, TrackerOptions, TrackerStats, TrackResult } from './api.js';
import { aggregateOnlyView, engagementEvents, stepEvents, unsessionedView } from './events.js';
import { createFailureLog } from './failure-log.js';
import { resolveConfig } from './resolve-config.js';
import { createSaltCache } from './salt-cache.js';
import { createSweeper } from './sweeper.js';
import { syntheticNavigation } from './synthetic-request.js';
import { createKeyCache, type VisitorKeyDeps, type VisitorKeys, visitorKeysOf } from './visitor-keys.js';
import { createWorkerHandler } from './worker.js';

/** Page views being recorded at once; past this the request path drops and counts instead of queueing work. */
export const MAX_IN_FLIGHT = 10_000;

/** Default sweep interval. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

const VIEW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The tracker: decides synchronously on the request path, records in the background through the ports.
 * Throws `AnonError('invalid_config')` for bad options; after that, nothing it does throws into a request.
 *
 * @example
 * const tracker = createTracker({ store: memoryStore() });
 * tracker.track({ method: 'GET', url: '/', headers, ip, status: 200 });
 */
export function createTracker(options: TrackerOptions = {}): Tracker {
  const config = Object.freeze(resolveConfig(options));
  const sweepEvery = sweepInterval(options.sweeper);
  if (options.worker === true && options.store === undefined) {
    throw new AnonError('invalid_config', 'worker: true needs a store to write to');
  }

  const ownsHot = options.hot === undefined;
  const hot: HotStore = options.hot ?? memoryHotStore();
  const queue: Queue = options.queue ?? memoryQueue();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Ids();
  const hasher = options.hasher ?? webCryptoHasher();
  const logger = options.logger ?? consoleLogger();
  const ua = createUaParser(config.uaCacheSize);
  const rules: SessionRules = {
    sessionTimeoutMs: config.sessionTimeoutMs,
    persistEvery: config.persistEvery,
    botMaxViewsPerMinute: config.botMaxViewsPerMinute,
    realtimeWindowMs: config.realtimeWindowMs,
  };
  const failures = createFailureLog(logger, clock);
  const keyDeps: VisitorKeyDeps = {
    hasher,
    salts: createSaltCache(hot),
    site: config.site,
    sessionTimeoutMs: config.sessionTimeoutMs,
    visitorId: options.visitorId,
    cache: createKeyCache(),
  };
  const counts = { tracked: 0, skipped: 0, bots: 0, dropped: 0, written: 0, finalized: 0, conversions: 0 };
  const inFlight = new Set<Promise<void>>();
  /** Resolves once the latest tracked view has been handed to the hot store (see `recordView`). */
  let issued: Promise<void> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | null = null;

  const sweeper = createSweeper({
    hot,
    queue,
    clock,
    rules,
    intervalMs: sweepEvery,
    // A snapshot, so steady traffic cannot hold a sweep back; background tasks never reject.
    settle: () => settled(),
    onFinalized: (n) => {
      counts.finalized += n;
    },
    onError: (error) => failures.report('hot_store_failed', 'sweeping expired sessions failed', error),
  });

  let consumer: Consumer | null = null;
  if (options.store !== undefined && options.worker !== false) {
    const handler = createWorkerHandler(options.store, {
      onWritten: (n) => {
        counts.written += n;
      },
      onConversions: (n) => {
        counts.conversions += n;
      },
    });
    consumer = queue.consume(async (batch) => {
      try {
        await handler(batch);
      } catch (error) {
        failures.report('store_failed', 'writing a batch failed; the queue will retry it', error);
        throw error;
      }
    });
  }

  /**
   * What was accepted so far, to await before work that must see it: identify and engagement read the
   * session the visitor's earlier page views (maybe still being recorded) built. A snapshot, never rejecting.
   */
  function settled(): Promise<unknown> {
    return inFlight.size === 0 ? Promise.resolve() : Promise.all([...inFlight]);
  }

  /** Runs `task` in the background, bounded; null when over the bound (the caller counts the drop). */
  function background(task: () => Promise<void>): Promise<void> | null {
    if (inFlight.size >= MAX_IN_FLIGHT) return null;
    const promise: Promise<void> = task()
      .catch((error: unknown) =>
        failures.report('hot_store_failed', 'background tracking work failed', error),
      )
      .finally(() => {
        inFlight.delete(promise);
      });
    inFlight.add(promise);
    return promise;
  }

  function optedOut(req: RequestInfo): boolean {
    if (options.optOut === undefined) return false;
    try {
      return options.optOut(req) === true;
    } catch (error) {
      // When the app cannot tell, the privacy-preserving answer is not to track.
      failures.report('invalid_input', 'the optOut hook threw; the request is treated as opted out', error);
      return true;
    }
  }

  /** The visitor's identity for a request that is not itself a page view (identify, engagement beacons). */
  // Identity of a POST (identify, beacon) comes from a synthetic `GET /`; exclusions must not apply to it.
  const identityConfig: TrackerConfig = { ...config, excludePaths: [] };
  function identityOf(req: RequestInfo): NormalizedRequest | null {
    if (optedOut(req)) return null;
    const result = normalize(syntheticNavigation(req, '/', undefined), identityConfig, ua);
    return result.track && result.request.privacy === 'full' ? result.request : null;
  }

  function enqueue(events: AnonEvent[]): void {
    try {
      queue.enqueue(events);
    } catch (error) {
      // The contract says enqueue never throws; a custom queue that does must still not reach the request.
      counts.dropped += events.length;
      failures.report('queue_failed', 'the queue threw on enqueue; events dropped', error);
    }
  }

  function draftOf(n: NormalizedRequest, id: string, at: Millis): ViewDraft {
    let country = n.country;
    let city = n.city;
    if (options.geo !== undefined && n.privacy === 'full' && n.rawIp !== '') {
      try {
        const place = options.geo.lookup(n.rawIp);
        if (place !== null) {
          country =
            place.country === null ? null : String(place.country).slice(0, LIMITS.country).toUpperCase();
          city = place.city === null ? null : String(place.city).slice(0, LIMITS.city);
        }
      } catch (error) {
        failures.report('invalid_input', 'the geo resolver threw; country and city left empty', error);
      }
    }
    return {
      id,
      userId: n.userId,
      authenticated: n.userId !== null,
      at,
      day: dayOf(at, config.timeZone),
      path: n.path,
      url: n.url,
      pageType: n.pageType,
      scope: n.scope,
      ip: n.ip,
      isBot: n.bot.isBot,
      botReasons: [...n.bot.reasons],
      referrer: n.referrer,
      referrerHost: n.referrerHost,
      utmSource: n.utmSource,
      utmMedium: n.utmMedium,
      utmCampaign: n.utmCampaign,
      utmTerm: n.utmTerm,
      utmContent: n.utmContent,
      device: n.device,
      browser: n.browser,
      os: n.os,
      country,
      city,
    };
  }

  async function recordView(req: RequestInfo, n: NormalizedRequest, draft: ViewDraft): Promise<void> {
    if (n.privacy === 'aggregate') {
      const view = aggregateOnlyView(draft);
      if (view.isBot) counts.bots += 1;
      enqueue([{ type: 'pageview', id: view.id, view }]);
      return;
    }
    let keys: VisitorKeys | null = null;
    let events: AnonEvent[];
    // Views reach the hot store in the order they were tracked: hashing is asynchronous and may finish out
    // of order, and two quick views of one visitor recorded backwards would swap its landing page. Each view
    // waits for the previous one to be *issued* (not answered), so the hot store is never called serially.
    const previousIssued = issued;
    let release = (): void => undefined;
    issued = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const keysReady = visitorKeysOf(keyDeps, req, n, draft.at);
      // Awaited just below; this only keeps a rejection while we wait our turn from being reported unhandled.
      keysReady.catch(() => undefined);
      await previousIssued;
      keys = await keysReady;
      const scopes = [`page:${draft.path}`];
      if (draft.scope !== null) scopes.push(draft.scope);
      const pending = hot.recordPageView(
        {
          visitorKey: keys.current,
          previousVisitorKey: keys.continuation,
          view: draft,
          newSessionId: ids.next(draft.at),
          scopes,
        },
        rules,
      );
      release();
      const step = await pending;
      events = stepEvents(draft, keys.current, step, step.viewsThisMinute > rules.botMaxViewsPerMinute);
      if (step.isBot) counts.bots += 1;
      if (step.ended !== null) counts.finalized += 1;
    } catch (error) {
      // No view is lost to a hot store outage: it is stored without a session (and without a visitor key
      // if even the salt could not be read).
      failures.report(
        'hot_store_failed',
        'recording a page view in the hot store failed; kept without a session',
        error,
      );
      const view = unsessionedView(draft, keys?.current ?? null);
      if (view.isBot) counts.bots += 1;
      events = [{ type: 'pageview', id: view.id, view }];
    } finally {
      release();
    }
    enqueue(events);
  }

  function track(req: RequestInfo): TrackResult {
    try {
      if (closed) return { tracked: false, reason: 'closed' };
      if (optedOut(req)) {
        counts.skipped += 1;
        return { tracked: false, reason: 'opt-out' };
      }
      const result = normalize(req, config, ua);
      if (!result.track) {
        counts.skipped += 1;
        return { tracked: false, reason: result.reason };
      }
      const now = clock.now();
      const viewId = typeof req.viewId === 'string' && VIEW_ID.test(req.viewId) ? req.viewId : ids.next(now);
      const draft = draftOf(result.request, viewId, now);
      if (background(() => recordView(req, result.request, draft)) === null) {
        counts.dropped += 1;
        failures.report('queue_full', `more than ${MAX_IN_FLIGHT} page views in flight; page view dropped`);
        return { tracked: false, reason: 'overloaded' };
      }
      counts.tracked += 1;
      return { tracked: true, viewId };
    } catch (error) {
      failures.report('invalid_input', 'track() failed; the request was not tracked', error);
      return { tracked: false, reason: 'error' };
    }
  }

  async function linkVisitor(
    req: RequestInfo,
    n: NormalizedRequest,
    userId: string,
    kind: IdentifyKind,
    now: Millis,
    before: Promise<unknown>,
  ): Promise<void> {
    await before;
    const keys = await visitorKeysOf(keyDeps, req, n, now);
    let live = await hot.identify(keys.current, userId, now);
    if (live === null && keys.previous !== null) live = await hot.identify(keys.previous, userId, now);
    const summary = live === null ? null : sessionSummary(live, false);
    // The live session keeps the key it started under, which may be yesterday's: match on every key we know.
    const visitorKeys = [...new Set([keys.current, keys.previous, summary?.visitorKey])].filter(
      (key): key is string => typeof key === 'string',
    );
    const events: AnonEvent[] = [];
    if (summary !== null)
      events.push({ type: 'session', id: `${summary.id}:${kind}:${userId}`, session: summary });
    events.push({
      type: 'identify',
      id: `${kind}:${userId}:${keys.current}`,
      identify: {
        userId,
        kind,
        at: now,
        day: dayOf(now, config.timeZone),
        visitorKeys,
        since: now - config.conversionWindowMs,
        live: summary,
      },
    });
    enqueue(events);
  }

  function identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<void> {
    try {
      if (closed) return Promise.resolve();
      if (typeof userId !== 'string' || userId === '') {
        failures.report('invalid_input', 'identify() needs a non-empty string user id; ignored');
        return Promise.resolve();
      }
      if (kind !== 'signup' && kind !== 'login') {
        failures.report('invalid_input', "identify() kind must be 'signup' or 'login'; ignored");
        return Promise.resolve();
      }
      const n = identityOf(req);
      if (n === null) return Promise.resolve();
      const now = clock.now();
      const before = settled();
      const task = background(() => linkVisitor(req, n, userId.slice(0, LIMITS.userId), kind, now, before));
      if (task === null) {
        counts.dropped += 1;
        return Promise.resolve();
      }
      return task;
    } catch (error) {
      failures.report('invalid_input', 'identify() failed', error);
      return Promise.resolve();
    }
  }

  async function engage(
    req: RequestInfo,
    n: NormalizedRequest,
    beacon: {
      viewId: string;
      engagedMs: number | null;
      scrollDepth: number | null;
      interactions: number | null;
    },
    now: Millis,
  ): Promise<void> {
    // Engagement takes its turn among page views as a view does: issued after every view tracked before the
    // beacon, and before any view tracked after it — otherwise that later view could reach the hot store first,
    // and the beacon would find its view no longer the last one and be lost.
    const previousIssued = issued;
    let release = (): void => undefined;
    issued = new Promise<void>((resolve) => {
      release = resolve;
    });
    let keys: VisitorKeys;
    let pending: Promise<EngageResult | null>;
    try {
      keys = await visitorKeysOf(keyDeps, req, n, now);
      await previousIssued;
      pending = hot.engage(keys.current, beacon.viewId, beacon.engagedMs, now);
    } finally {
      release();
    }
    let view = await pending;
    // Right after a rotation the session may still sit under yesterday's key until its next page view.
    if (view === null && keys.previous !== null) {
      view = await hot.engage(keys.previous, beacon.viewId, beacon.engagedMs, now);
    }
    if (view === null) return;
    const events = engagementEvents(beacon.viewId, view, beacon.scrollDepth, beacon.interactions);
    if (events.length > 0) enqueue(events);
  }

  function beacon(body: unknown, req: RequestInfo): BeaconResult {
    try {
      if (closed) return { ok: false, status: 204, error: 'closed' };
      const parsed = parseBeacon(body);
      if (parsed instanceof AnonError) {
        return { ok: false, status: parsed.code === 'payload_too_large' ? 413 : 400, error: parsed.message };
      }
      if (parsed.type === 'navigation') {
        track(syntheticNavigation(req, parsed.url, parsed.referrer));
        return { ok: true, status: 204 };
      }
      const n = identityOf(req);
      if (n !== null) {
        const now = clock.now();
        if (background(() => engage(req, n, parsed, now)) === null) counts.dropped += 1;
      }
      return { ok: true, status: 204 };
    } catch (error) {
      failures.report('invalid_beacon', 'handling a beacon failed', error);
      return { ok: false, status: 400, error: '[anon] [core] the beacon could not be handled' };
    }
  }

  async function flush(): Promise<void> {
    // Recording a view can start no new work, but identify/beacon calls may land while we wait: loop.
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    await queue.flush();
  }

  async function shutdown(): Promise<void> {
    let firstError: unknown;
    const step = async (what: string, run: () => Promise<unknown> | undefined) => {
      try {
        await run();
      } catch (error) {
        firstError ??= error;
        failures.report('closed', `close(): ${what} failed`, error);
      }
    };
    await step('stopping the sweeper', () => sweeper.stop());
    await step('flushing', flush);
    await step('stopping the worker', () => consumer?.stop());
    await step('closing the queue', () => queue.close());
    if (ownsHot) await step('closing the hot store', () => hot.close?.());
    if (firstError !== undefined) {
      throw new AnonError('closed', 'the tracker closed, but not cleanly', { cause: firstError });
    }
  }

  function safeCount(read: () => number): number {
    try {
      return read();
    } catch {
      return 0;
    }
  }

  return {
    config,
    track,
    beacon,
    identify,
    async activeVisitors(scope?: string): Promise<number> {
      try {
        return await hot.activeVisitors(clock.now(), config.realtimeWindowMs, scope);
      } catch (error) {
        failures.report('hot_store_failed', 'reading active visitors failed', error);
        throw new AnonError('hot_store_failed', 'reading active visitors failed', { cause: error });
      }
    },
    async sweep(): Promise<number> {
      try {
        return await sweeper.sweep();
      } catch (error) {
        failures.report('hot_store_failed', 'sweeping expired sessions failed', error);
        throw new AnonError('hot_store_failed', 'sweeping expired sessions failed', { cause: error });
      }
    },
    flush,
    close(): Promise<void> {
      closed = true;
      closing ??= shutdown();
      return closing;
    },
    stats(): TrackerStats {
      return {
        tracked: counts.tracked,
        skipped: counts.skipped,
        bots: counts.bots,
        dropped: counts.dropped + safeCount(() => queue.dropped()),
        failures: failures.count(),
        queueDepth: safeCount(() => queue.depth()),
        written: counts.written,
        finalized: counts.finalized,
        conversions: counts.conversions,
      };
    },
    newViewId(): string {
      return ids.next(clock.now());
    },
  };
}

function sweepInterval(option: TrackerOptions['sweeper']): number | false {
  if (option === false) return false;
  if (option === undefined) return DEFAULT_SWEEP_INTERVAL_MS;
  const ms = option.intervalMs;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new AnonError('invalid_config', `sweeper.intervalMs must be a positive number, got ${String(ms)}`);
  }
  return ms;
}
