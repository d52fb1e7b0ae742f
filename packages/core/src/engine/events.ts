import type { EngageResult, PreviousView, SessionStep, ViewDraft } from '../ports.js';
import { sessionSummary } from '../sessionize.js';
import type { AnonEvent, BotReason, HotSession, PageMetric, PageView } from '../types.js';

/** The page view of an aggregate-only request (DNT / Sec-GPC): no session, no visitor, no user, no IP. */
export function aggregateOnlyView(draft: ViewDraft): PageView {
  return {
    ...draft,
    userId: null,
    ip: null,
    country: null,
    city: null,
    sessionId: null,
    visitorKey: null,
    seq: 0,
  };
}

/** A page view the hot store could not place in a session: kept, with no session. */
export function unsessionedView(draft: ViewDraft, visitorKey: string | null): PageView {
  return { ...draft, sessionId: null, visitorKey, seq: 0 };
}

/**
 * Everything one recorded page view emits, in one list: the view, the time on page its arrival measured for
 * the previous view, the session summary on the persistence cadence, and the finalization of a session it
 * ended.
 */
export function stepEvents(
  draft: ViewDraft,
  visitorKey: string,
  step: SessionStep,
  rateFlagged: boolean,
): AnonEvent[] {
  const botReasons: BotReason[] =
    rateFlagged && !draft.botReasons.includes('rate') ? [...draft.botReasons, 'rate'] : draft.botReasons;
  const view: PageView = {
    ...draft,
    sessionId: step.session.id,
    visitorKey,
    seq: step.seq,
    isBot: step.isBot,
    botReasons,
  };
  const events: AnonEvent[] = [{ type: 'pageview', id: view.id, view }];
  if (step.previousView !== null) events.push(timeOnPageEvent(step.previousView, step.session.id));
  if (step.persist) {
    events.push({
      type: 'session',
      id: `${step.session.id}:${step.session.pageViews}`,
      session: sessionSummary(step.session, false),
    });
  }
  if (step.ended !== null) events.push(...finalizationEvents(step.ended));
  return events;
}

function timeOnPageEvent(previous: PreviousView, sessionId: string): AnonEvent {
  return metricEvent({
    viewId: previous.id,
    metric: 'time_on_page',
    value: previous.timeOnPageMs,
    sessionId,
    day: previous.day,
    at: previous.at,
    path: previous.path,
    isBot: previous.isBot,
  });
}

/**
 * A session's last words: its final summary (ended at its last view) and, when the beacon reported engaged
 * time for that last view, its time on page. Without a beacon the last view's time on page stays unknown.
 */
export function finalizationEvents(session: HotSession): AnonEvent[] {
  const events: AnonEvent[] = [
    { type: 'session', id: `${session.id}:final`, session: sessionSummary(session, true) },
  ];
  if (session.lastEngagedMs !== null) {
    events.push(
      metricEvent({
        viewId: session.lastViewId,
        metric: 'time_on_page',
        value: session.lastEngagedMs,
        sessionId: session.id,
        day: session.lastViewDay,
        at: session.lastSeenAt,
        path: session.exitPath,
        isBot: session.lastViewIsBot,
      }),
    );
  }
  return events;
}

/** Scroll depth and interactions a beacon reported for a view the hot store confirmed. */
export function engagementEvents(
  viewId: string,
  view: EngageResult,
  scrollDepth: number | null,
  interactions: number | null,
): AnonEvent[] {
  const base = {
    viewId,
    sessionId: view.sessionId,
    day: view.day,
    at: view.at,
    path: view.path,
    isBot: view.isBot,
  };
  const events: AnonEvent[] = [];
  if (scrollDepth !== null) events.push(metricEvent({ ...base, metric: 'scroll_depth', value: scrollDepth }));
  if (interactions !== null)
    events.push(metricEvent({ ...base, metric: 'interactions', value: interactions }));
  return events;
}

function metricEvent(metric: PageMetric): AnonEvent {
  return { type: 'metric', id: `${metric.viewId}:${metric.metric}`, metric };
}
