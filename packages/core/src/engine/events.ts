import { withRateReason } from '../adapter/bot-session.js';
import type { NormalizedRequest } from '../normalize/index.js';
import type { EngageResult, PreviousView, SessionStep } from '../ports.js';
import { sessionSummary } from '../sessionize.js';
import type { AnonEvent, HotSession, Millis, PageMetric, PageView } from '../types.js';

/**
 * The page view of a normalized request, in the one object that becomes the stored event: built once per
 * view and completed in place (`stepEvents`, `unsessionedView`) once the hot store has answered, instead of
 * spread from a draft per step. An aggregate-only request (DNT / Sec-GPC) keeps whether it was authenticated,
 * but no user id, IP or place.
 */
export function pageViewOf(
  n: NormalizedRequest,
  id: string,
  at: Millis,
  day: string,
  place: { country: string | null; city: string | null },
): PageView {
  const full = n.privacy === 'full';
  return {
    id,
    userId: full ? n.userId : null,
    authenticated: n.userId !== null,
    at,
    day,
    path: n.path,
    url: n.url,
    pageType: n.pageType,
    scope: n.scope,
    ip: full ? n.ip : null,
    isBot: n.bot.isBot,
    botReasons: n.bot.reasons,
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
    country: full ? place.country : null,
    city: full ? place.city : null,
    sessionId: null,
    visitorKey: null,
    seq: 0,
  };
}

/** A page view the hot store could not place in a session: kept, with no session. */
export function unsessionedView(view: PageView, visitorKey: string | null): PageView {
  view.visitorKey = visitorKey;
  return view;
}

/**
 * Everything one recorded page view emits, appended to `events`: the view (completed in place), the session's
 * `botsession` event when this view flagged it, the time on page its arrival measured for the previous view,
 * the session summary on the persistence cadence, and the finalization of a session it ended.
 */
export function stepEvents(
  events: AnonEvent[],
  view: PageView,
  visitorKey: string,
  step: SessionStep,
  rateFlagged: boolean,
): void {
  // Bot by rate, or by continuing a session the rate check flagged (the user agent said human): 'rate'.
  if (rateFlagged || (step.isBot && !view.isBot)) view.botReasons = withRateReason(view.botReasons);
  view.sessionId = step.session.id;
  view.visitorKey = visitorKey;
  view.seq = step.seq;
  view.isBot = step.isBot;
  events.push({ type: 'pageview', id: view.id, view });
  if (step.becameBot) {
    events.push({
      type: 'botsession',
      id: `${step.session.id}:bot`,
      botSession: { sessionId: step.session.id, day: view.day, at: view.at },
    });
  }
  if (step.previousView !== null) events.push(timeOnPageEvent(step.previousView, step.session.id));
  if (step.persist) {
    events.push({
      type: 'session',
      id: `${step.session.id}:${step.session.pageViews}`,
      session: sessionSummary(step.session, false),
    });
  }
  if (step.ended !== null) for (const event of finalizationEvents(step.ended)) events.push(event);
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
