import {
  type AnonEvent,
  type HotSession,
  type PageMetric,
  sessionize,
  sessionSummary,
  uuidv7Ids,
} from '@anon/core';
import { RULES, viewDraft, visitorKeyOf } from './hot-store.js';

/**
 * Page-view events as the engine emits them, made without HTTP or a hot store so the ingest section measures
 * the queue and the store only: core's own `sessionize` reducer continues or starts each visitor's session,
 * and every view brings what `track()` would enqueue — the page view, the previous view's time on page, the
 * session summary on the persistence cadence, and a session's final summary when it ends.
 */
export class TrafficSource {
  readonly #visitors: (HotSession | null)[];
  readonly #ids = uuidv7Ids();
  #n = 0;
  #seed = 0x2545f491;

  constructor(visitors: number) {
    this.#visitors = new Array<HotSession | null>(visitors).fill(null);
  }

  /** xorshift32: cheap and deterministic, so every run sends the same shape of traffic. */
  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 2 ** 32;
  }

  /** The events of the next page view, at the current time; `viewId` is its page view's event id. */
  next(): { viewId: string; events: AnonEvent[] } {
    const n = ++this.#n;
    const v = Math.floor(this.#random() * this.#visitors.length);
    const at = Date.now();
    const id = this.#ids.next(at);
    const visitorKey = visitorKeyOf(v);
    const draft = viewDraft(id, at, n);
    const step = sessionize(
      this.#visitors[v] ?? null,
      { view: draft, visitorKey, newSessionId: this.#ids.next(at), viewsThisMinute: 1 },
      RULES,
    );
    const events: AnonEvent[] = [
      { type: 'pageview', id, view: { ...draft, sessionId: step.session.id, visitorKey, seq: step.seq } },
    ];
    if (step.previousView !== null) {
      const p = step.previousView;
      const metric: PageMetric = {
        viewId: p.id,
        metric: 'time_on_page',
        value: p.timeOnPageMs,
        sessionId: step.session.id,
        day: p.day,
        at: p.at,
        path: p.path,
        isBot: p.isBot,
      };
      events.push({ type: 'metric', id: `${p.id}:time_on_page`, metric });
    }
    if (step.persist) {
      events.push({
        type: 'session',
        id: `${step.session.id}:${step.session.pageViews}`,
        session: sessionSummary(step.session, false),
      });
    }
    // Sessions of a minute-long run never time out: end one in four after this view (about four pages per
    // session), as the sweeper would, so finalizations are part of the load.
    if (this.#random() < 0.25) {
      events.push({
        type: 'session',
        id: `${step.session.id}:final`,
        session: sessionSummary(step.session, true),
      });
      this.#visitors[v] = null;
    } else {
      this.#visitors[v] = step.session;
    }
    return { viewId: id, events };
  }
}
