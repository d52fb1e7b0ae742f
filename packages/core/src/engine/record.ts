import { LIMITS, type TrackerConfig } from '../config.js';
import { dayOf } from '../day.js';
import { AnonError } from '../errors.js';
import { finish, type NormalizedRequest, type Screened, type UaParser } from '../normalize/index.js';
import type { GeoResolver, HotStore, Ids, RecordInput, SessionRules, SessionStep } from '../ports.js';
import { sessionSummary } from '../sessionize.js';
import type { AnonEvent, IdentifyKind, Millis, PageView, RequestInfo } from '../types.js';
import { engagementEvents, pageViewOf, stepEvents, unsessionedView } from './events.js';
import type { FailureLog } from './failure-log.js';
import { createPathBudget } from './path-budget.js';
import { type VisitorKeyDeps, type VisitorKeys, visitorKeysNow, visitorKeysOf } from './visitor-keys.js';

/** A page view as `track()` captured it: the request, its screening, its time and id. Nothing else. */
export interface ViewItem {
  kind: 'view';
  req: RequestInfo;
  screened: Screened;
  at: Millis;
  id: string;
  /**
   * For an SPA navigation beacon: the view it navigates from. The navigation counts only if that view is
   * still its visitor's last one, so a beacon cannot invent visitors or views the server never served.
   */
  from?: string;
}

/** An engagement beacon for a view, in its turn among the page views. */
export interface EngageItem {
  kind: 'engage';
  req: RequestInfo;
  identity: NormalizedRequest;
  viewId: string;
  engagedMs: number | null;
  scrollDepth: number | null;
  interactions: number | null;
  at: Millis;
}

/** An `identify` call, in its turn among the page views; `done` settles the promise `identify` returned. */
export interface IdentifyItem {
  kind: 'identify';
  req: RequestInfo;
  identity: NormalizedRequest;
  userId: string;
  how: IdentifyKind;
  at: Millis;
  done(): void;
}

export type Item = ViewItem | EngageItem | IdentifyItem;

export interface RecordDeps {
  config: Readonly<TrackerConfig>;
  rules: SessionRules;
  hot: HotStore;
  ids: Ids;
  ua: UaParser;
  geo: GeoResolver | undefined;
  keys: VisitorKeyDeps;
  failures: FailureLog;
  enqueue(events: AnonEvent[]): void;
  counts: { bots: number; finalized: number; skipped: number; rejected: number };
}

const UNSESSIONED = 'recording a page view in the hot store failed; kept without a session';

/** Longest stretch of normalization before the batch gives the event loop a turn (hostile user agents). */
const SLICE_MS = 4;

const monotonic: () => number =
  typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Handles one batch of the pipeline, in order: runs of page views go to the hot store in one
 * `recordPageViews` call each; an engagement beacon or an identify waits for the views before it and goes
 * before the views after it. Never rejects for a port's failure: views are then kept without a session.
 */
export function createRecorder(deps: RecordDeps): (items: Item[]) => Promise<void> {
  const { config, hot, keys, failures } = deps;
  const budget = createPathBudget(config.maxPathsPerDay);
  // Aggregate-only views (DNT / Sec-GPC) have no visitor key, so the hot store cannot rate them: they are
  // counted here per (IP, user agent) and minute, in this process only, and forgotten each minute.
  let rateMinute = -1;
  let rates = new Map<string, number>();
  function overRate(n: NormalizedRequest, at: Millis): boolean {
    const minute = Math.floor(at / 60_000);
    if (minute !== rateMinute) {
      rateMinute = minute;
      rates = new Map();
    }
    const id = `${n.rawIp}\u0000${n.userAgent}`;
    const count = (rates.get(id) ?? 0) + 1;
    rates.set(id, count);
    return count > deps.rules.botMaxViewsPerMinute;
  }

  function placeOf(n: NormalizedRequest): { country: string | null; city: string | null } {
    if (deps.geo === undefined || n.privacy !== 'full' || n.rawIp === '') return n;
    try {
      const place = deps.geo.lookup(n.rawIp);
      if (place === null) return n;
      return {
        country: place.country === null ? null : String(place.country).slice(0, LIMITS.country).toUpperCase(),
        city: place.city === null ? null : String(place.city).slice(0, LIMITS.city),
      };
    } catch (error) {
      failures.report('invalid_input', 'the geo resolver threw; country and city left empty', error);
      return n;
    }
  }

  /** The keys of each view, synchronously where the hasher allows; null for a view whose salt failed. */
  async function keysOf(
    views: { req: RequestInfo; n: NormalizedRequest; view: PageView }[],
  ): Promise<(VisitorKeys | null)[]> {
    const out: (VisitorKeys | null)[] = new Array(views.length);
    for (let i = 0; i < views.length; i++) {
      const { req, n, view } = views[i]!;
      try {
        const salts = keys.salts.peek(view.at) ?? (await keys.salts.get(view.at));
        out[i] = visitorKeysNow(keys, req, n, salts, view.at) ?? (await visitorKeysOf(keys, req, n, view.at));
      } catch (error) {
        failures.report('hot_store_failed', UNSESSIONED, error);
        out[i] = null;
      }
    }
    return out;
  }

  async function recordViews(items: ViewItem[]): Promise<void> {
    const events: AnonEvent[] = [];
    const sessioned: { req: RequestInfo; n: NormalizedRequest; view: PageView }[] = [];
    let sliceStart = monotonic();
    for (const item of items) {
      const n = finish(item.req, config, deps.ua, item.screened);
      if (n === null) {
        failures.report('invalid_input', 'a tracked request could not be read; page view dropped');
        continue;
      }
      const day = dayOf(item.at, config.timeZone);
      const view = pageViewOf(n, item.id, item.at, day, placeOf(n));
      if (n.privacy === 'aggregate' && overRate(n, item.at)) {
        view.isBot = true;
        if (!view.botReasons.includes('rate')) view.botReasons = [...view.botReasons, 'rate'];
      }
      view.path = budget.admit(day, view.path, view.isBot, n.fromRoute);
      if (n.privacy === 'aggregate') {
        if (view.isBot) deps.counts.bots += 1;
        events.push({ type: 'pageview', id: view.id, view });
      } else {
        sessioned.push({ req: item.req, n, view });
      }
      if (monotonic() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = monotonic();
      }
    }
    if (sessioned.length > 0) await placeViews(sessioned, events);
    if (events.length > 0) deps.enqueue(events);
  }

  async function placeViews(
    views: { req: RequestInfo; n: NormalizedRequest; view: PageView }[],
    events: AnonEvent[],
  ): Promise<void> {
    const visitorKeys = await keysOf(views);
    const inputs: RecordInput[] = [];
    const placed: { view: PageView; key: string }[] = [];
    for (let i = 0; i < views.length; i++) {
      const { view } = views[i]!;
      const k = visitorKeys[i];
      if (k === null || k === undefined) {
        if (view.isBot) deps.counts.bots += 1;
        events.push({ type: 'pageview', id: view.id, view: unsessionedView(view, null) });
        continue;
      }
      const scopes = [`page:${view.path}`];
      if (view.scope !== null) scopes.push(view.scope);
      inputs.push({
        visitorKey: k.current,
        previousVisitorKey: k.continuation,
        view,
        newSessionId: deps.ids.next(view.at),
        scopes,
      });
      placed.push({ view, key: k.current });
    }
    if (inputs.length === 0) return;
    let steps: SessionStep[] | null = null;
    try {
      steps = await hot.recordPageViews(inputs, deps.rules);
      if (steps.length !== inputs.length) {
        throw new AnonError(
          'hot_store_failed',
          `recordPageViews answered ${steps.length} of ${inputs.length}`,
        );
      }
    } catch (error) {
      // No view is lost to a hot store outage: each is stored without a session, and counted as a failure.
      for (let i = 0; i < inputs.length; i++) failures.report('hot_store_failed', UNSESSIONED, error);
      steps = null;
    }
    const limit = deps.rules.botMaxViewsPerMinute;
    for (let i = 0; i < placed.length; i++) {
      const { view, key } = placed[i]!;
      const step = steps?.[i];
      if (step === undefined) {
        if (view.isBot) deps.counts.bots += 1;
        events.push({ type: 'pageview', id: view.id, view: unsessionedView(view, key) });
        continue;
      }
      stepEvents(events, view, key, step, step.viewsThisMinute > limit);
      if (step.isBot) deps.counts.bots += 1;
      if (step.ended !== null) deps.counts.finalized += 1;
    }
  }

  async function engage(item: EngageItem): Promise<void> {
    const k = await visitorKeysOf(keys, item.req, item.identity, item.at);
    let view = await hot.engage(k.current, item.viewId, item.engagedMs, item.at);
    // Right after a rotation the session may still sit under yesterday's key until its next page view.
    if (view === null && k.previous !== null) {
      view = await hot.engage(k.previous, item.viewId, item.engagedMs, item.at);
    }
    if (view === null) return;
    const events = engagementEvents(item.viewId, view, item.scrollDepth, item.interactions);
    if (events.length > 0) deps.enqueue(events);
  }

  async function identify(item: IdentifyItem): Promise<void> {
    const { at, userId, how } = item;
    const k = await visitorKeysOf(keys, item.req, item.identity, at);
    let live = await hot.identify(k.current, userId, at);
    if (live === null && k.previous !== null) live = await hot.identify(k.previous, userId, at);
    const summary = live === null ? null : sessionSummary(live, false);
    // The live session keeps the key it started under, which may be yesterday's: match on every key we know.
    const visitorKeys = [...new Set([k.current, k.previous, summary?.visitorKey])].filter(
      (key): key is string => typeof key === 'string',
    );
    const events: AnonEvent[] = [];
    if (summary !== null)
      events.push({ type: 'session', id: `${summary.id}:${how}:${userId}`, session: summary });
    events.push({
      type: 'identify',
      id: `${how}:${userId}:${k.current}`,
      identify: {
        userId,
        kind: how,
        at,
        day: dayOf(at, config.timeZone),
        visitorKeys,
        since: at - config.conversionWindowMs,
        live: summary,
      },
    });
    deps.enqueue(events);
  }

  async function other(item: EngageItem | IdentifyItem): Promise<void> {
    try {
      if (item.kind === 'engage') await engage(item);
      else await identify(item);
    } catch (error) {
      const what = item.kind === 'engage' ? 'recording engagement' : 'linking a visitor';
      failures.report('hot_store_failed', `${what} failed`, error);
    } finally {
      if (item.kind === 'identify') item.done();
    }
  }

  /** Whether `viewId` is still the last view of the visitor behind `req` (read-only: no engaged time given). */
  async function isLastView(req: RequestInfo, viewId: string, at: Millis): Promise<boolean> {
    const n = finish(req, config, deps.ua, { fullPath: '/', urlHost: null, query: '', privacy: 'full' });
    if (n === null) return false;
    const k = await visitorKeysOf(keys, req, n, at);
    if ((await hot.engage(k.current, viewId, null, at)) !== null) return true;
    return k.previous !== null && (await hot.engage(k.previous, viewId, null, at)) !== null;
  }

  async function navigate(item: ViewItem & { from: string }): Promise<void> {
    let known = false;
    try {
      known = item.screened.privacy === 'full' && (await isLastView(item.req, item.from, item.at));
    } catch (error) {
      failures.report('hot_store_failed', 'checking an SPA navigation failed; navigation not counted', error);
    }
    if (known) await recordViews([item]);
    else deps.counts.rejected += 1;
  }

  return async (items) => {
    let run: ViewItem[] = [];
    for (const item of items) {
      if (item.kind === 'view' && item.from === undefined) {
        run.push(item);
        continue;
      }
      if (run.length > 0) await recordViews(run);
      run = [];
      if (item.kind === 'view') await navigate(item as ViewItem & { from: string });
      else await other(item);
    }
    if (run.length > 0) await recordViews(run);
  };
}
