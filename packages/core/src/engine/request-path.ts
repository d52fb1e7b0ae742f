import { parseBeacon } from '../beacon.js';
import { LIMITS, type TrackerConfig } from '../config.js';
import { AnonError } from '../errors.js';
import {
  createRouteMatcher,
  type NormalizedRequest,
  normalize,
  screen,
  type UaParser,
} from '../normalize/index.js';
import { splitTarget } from '../normalize/path.js';
import type { Clock, Ids, Logger } from '../ports.js';
import type { IdentifyKind, RequestInfo } from '../types.js';
import type { BeaconOptions, BeaconResult, TrackerOptions, TrackResult, TrackSkipReason } from './api.js';
import type { FailureLog } from './failure-log.js';
import type { Item } from './record.js';
import { syntheticNavigation } from './synthetic-request.js';

/** What the request path needs from the tracker that assembles it. */
export interface RequestPathDeps {
  config: Readonly<TrackerConfig>;
  clock: Clock;
  ids: Ids;
  ua: UaParser;
  logger: Logger;
  failures: FailureLog;
  optOut: TrackerOptions['optOut'];
  /** Log the first request skipped for each reason. */
  debug: boolean;
  /** Hands a capture to the batch pipeline; false when the pipeline is full (the item was not taken). */
  push(item: Item): boolean;
  /** The pipeline's bound, for the line that says why a page view was dropped. */
  maxInFlight: number;
  /** True once `close()` was called: nothing more is taken. */
  closed(): boolean;
  counts: { tracked: number; skipped: number; dropped: number };
}

/** The tracker's calls on a request: synchronous decisions, a capture pushed to the pipeline, never a throw. */
export interface RequestPath {
  track(req: RequestInfo): TrackResult;
  beacon(body: unknown, req: RequestInfo, options?: BeaconOptions): BeaconResult;
  identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<void>;
  /** Requests not tracked so far, by reason (a copy). */
  skippedBy(): Partial<Record<TrackSkipReason, number>>;
}

const VIEW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The request path: the cheap decisions (closed, opted out, screened) and a capture of the request, pushed to
 * the batch pipeline. No promise, no hashing, no parsing of the user agent here: that is the batch's work.
 */
export function createRequestPath(deps: RequestPathDeps): RequestPath {
  const { config, clock, ids, ua, logger, failures, counts } = deps;
  const routeOf = createRouteMatcher(config.routes);
  const skippedBy: Partial<Record<TrackSkipReason, number>> = {};
  // Identity of a POST (identify, beacon) comes from a synthetic `GET /`; exclusions must not apply to it.
  const identityConfig: TrackerConfig = { ...config, excludePaths: [] };

  function skipped(reason: TrackSkipReason): TrackResult {
    counts.skipped += 1;
    const before = skippedBy[reason] ?? 0;
    skippedBy[reason] = before + 1;
    if (before === 0 && deps.debug) {
      try {
        logger.warn(
          `[anon] [core] first request not tracked for reason "${reason}" (debug: logged once per reason)`,
          {
            reason,
          },
        );
      } catch {
        // A logger that throws must not reach the request.
      }
    }
    return { tracked: false, reason };
  }

  function optedOut(req: RequestInfo): boolean {
    if (deps.optOut === undefined) return false;
    try {
      return deps.optOut(req) === true;
    } catch (error) {
      // When the app cannot tell, the privacy-preserving answer is not to track.
      failures.report('invalid_input', 'the optOut hook threw; the request is treated as opted out', error);
      return true;
    }
  }

  /** The visitor's identity for a request that is not itself a page view (identify, engagement beacons). */
  function identityOf(req: RequestInfo): NormalizedRequest | null {
    if (optedOut(req)) return null;
    const result = normalize(syntheticNavigation(req, '/', undefined), identityConfig, ua);
    return result.track && result.request.privacy === 'full' ? result.request : null;
  }

  function overloaded(): void {
    counts.dropped += 1;
    failures.report('queue_full', `more than ${deps.maxInFlight} page views in flight; dropped`);
  }

  function track(req: RequestInfo): TrackResult {
    return capture(req, undefined);
  }

  function capture(req: RequestInfo, from: string | undefined): TrackResult {
    try {
      if (deps.closed()) return { tracked: false, reason: 'closed' };
      if (optedOut(req)) return skipped('opt-out');
      const screened = screen(req, config);
      if (typeof screened === 'string') return skipped(screened);
      const at = clock.now();
      const id = typeof req.viewId === 'string' && VIEW_ID.test(req.viewId) ? req.viewId : ids.next(at);
      const item: Item = { kind: 'view', req, screened, at, id };
      if (from !== undefined) item.from = from;
      if (!deps.push(item)) {
        overloaded();
        return { tracked: false, reason: 'overloaded' };
      }
      counts.tracked += 1;
      return { tracked: true, viewId: id };
    } catch (error) {
      failures.report('invalid_input', 'track() failed; the request was not tracked', error);
      return { tracked: false, reason: 'error' };
    }
  }

  /**
   * An SPA navigation beacon: counted like a page load of `url` (under its route pattern when `routes` has
   * one), but only once the batch has checked that `from` is the visitor's last view. Answers the new view's
   * id at once, for the page's script to report engagement with.
   */
  function navigation(
    req: RequestInfo,
    url: string,
    referrer: string | null,
    from: string,
    appRouteOf: BeaconOptions['routeOf'],
  ): BeaconResult {
    const synthetic = syntheticNavigation(req, url, referrer);
    const path = splitTarget(url).rawPath;
    const route = routeOf(path) ?? frameworkRoute(appRouteOf, path);
    if (route !== null) synthetic.route = route;
    const result = capture(synthetic, from);
    return result.tracked ? { ok: true, status: 200, viewId: result.viewId! } : { ok: true, status: 204 };
  }

  /** The framework router's pattern for `path`, when the binding offers one; a throw or a non-path is none. */
  function frameworkRoute(of: BeaconOptions['routeOf'], path: string): string | null {
    if (typeof of !== 'function') return null;
    try {
      const route = of(path);
      return typeof route === 'string' && route.startsWith('/') && !route.includes('*') ? route : null;
    } catch (error) {
      failures.report(
        'invalid_input',
        "the binding's route matcher threw; navigation counted by its path",
        error,
      );
      return null;
    }
  }

  function identify(req: RequestInfo, userId: string, kind: IdentifyKind): Promise<void> {
    try {
      if (deps.closed()) return Promise.resolve();
      if (typeof userId !== 'string' || userId === '') {
        failures.report('invalid_input', 'identify() needs a non-empty string user id; ignored');
        return Promise.resolve();
      }
      if (kind !== 'signup' && kind !== 'login') {
        failures.report('invalid_input', "identify() kind must be 'signup' or 'login'; ignored");
        return Promise.resolve();
      }
      const identity = identityOf(req);
      if (identity === null) return Promise.resolve();
      const at = clock.now();
      return new Promise<void>((done) => {
        const item: Item = {
          kind: 'identify',
          req,
          identity,
          userId: userId.slice(0, LIMITS.userId),
          how: kind,
          at,
          done,
        };
        if (!deps.push(item)) {
          counts.dropped += 1;
          done();
        }
      });
    } catch (error) {
      failures.report('invalid_input', 'identify() failed', error);
      return Promise.resolve();
    }
  }

  function beacon(body: unknown, req: RequestInfo, options?: BeaconOptions): BeaconResult {
    try {
      if (deps.closed()) return { ok: false, status: 204, error: 'closed' };
      const parsed = parseBeacon(body);
      if (parsed instanceof AnonError) {
        return { ok: false, status: parsed.code === 'payload_too_large' ? 413 : 400, error: parsed.message };
      }
      if (parsed.type === 'navigation')
        return navigation(req, parsed.url, parsed.referrer, parsed.fromViewId, options?.routeOf);
      const identity = identityOf(req);
      if (identity !== null) {
        const item: Item = {
          kind: 'engage',
          req,
          identity,
          viewId: parsed.viewId,
          engagedMs: parsed.engagedMs,
          scrollDepth: parsed.scrollDepth,
          interactions: parsed.interactions,
          at: clock.now(),
        };
        if (!deps.push(item)) counts.dropped += 1;
      }
      return { ok: true, status: 204 };
    } catch (error) {
      failures.report('invalid_beacon', 'handling a beacon failed', error);
      return { ok: false, status: 400, error: '[anon] [core] the beacon could not be handled' };
    }
  }

  return { track, beacon, identify, skippedBy: () => ({ ...skippedBy }) };
}
