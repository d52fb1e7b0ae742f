import type { SessionRules, SessionStep, ViewDraft } from './ports.js';
import type { HotSession, Session } from './types.js';

/** What one page view brings to the session reducer. */
export interface SessionizeInput {
  view: ViewDraft;
  visitorKey: string;
  /** Used only if this view starts a session. */
  newSessionId: string;
  /** Page views from this visitor in the current minute, this one included. */
  viewsThisMinute: number;
}

/**
 * The pure session reducer every hot store applies atomically (docs/semantics.md): continue the visitor's
 * session when the gap is within the timeout, else end it and start a new one. A view continuing a bot
 * session is a bot view; `becameBot` says this view turned a human session into a bot session.
 */
export function sessionize(
  current: HotSession | null,
  input: SessionizeInput,
  rules: SessionRules,
): SessionStep {
  const { view, viewsThisMinute } = input;
  const rateBot = viewsThisMinute > rules.botMaxViewsPerMinute;
  const ownIsBot = view.isBot || rateBot;

  if (current !== null) {
    const gap = Math.max(0, view.at - current.lastSeenAt);
    if (gap <= rules.sessionTimeoutMs) {
      const seq = current.pageViews + 1;
      // A bot session's views are all bot views: once flagged, it stays flagged for the views still to come.
      const viewIsBot = ownIsBot || current.isBot;
      // Every field written out rather than `{ ...current, … }`: one object shape for every session, whatever
      // built `current` (this reducer, a store's decoder, a copy), and no generic spread on the hot path.
      const session: HotSession = {
        id: current.id,
        visitorKey: current.visitorKey,
        userId: view.userId ?? current.userId,
        startedAt: current.startedAt,
        startDay: current.startDay,
        lastSeenAt: Math.max(current.lastSeenAt, view.at),
        pageViews: seq,
        landingPath: current.landingPath,
        exitPath: view.path,
        lastViewId: view.id,
        lastViewDay: view.day,
        lastViewIsBot: viewIsBot,
        lastEngagedMs: null,
        isBot: viewIsBot,
        referrer: current.referrer,
        referrerHost: current.referrerHost,
        utmSource: current.utmSource,
        utmMedium: current.utmMedium,
        utmCampaign: current.utmCampaign,
        utmTerm: current.utmTerm,
        utmContent: current.utmContent,
        device: current.device,
        browser: current.browser,
        os: current.os,
        country: current.country,
        city: current.city,
      };
      return {
        session,
        isNew: false,
        ended: null,
        previousView: {
          id: current.lastViewId,
          at: current.lastSeenAt,
          day: current.lastViewDay,
          path: current.exitPath,
          isBot: current.lastViewIsBot,
          timeOnPageMs: Math.min(gap, rules.sessionTimeoutMs),
        },
        persist: shouldPersist(seq, rules),
        seq,
        isBot: viewIsBot,
        becameBot: viewIsBot && !current.isBot,
        viewsThisMinute,
      };
    }
  }

  const session: HotSession = {
    id: input.newSessionId,
    visitorKey: input.visitorKey,
    userId: view.userId,
    startedAt: view.at,
    startDay: view.day,
    lastSeenAt: view.at,
    pageViews: 1,
    landingPath: view.path,
    exitPath: view.path,
    lastViewId: view.id,
    lastViewDay: view.day,
    lastViewIsBot: ownIsBot,
    lastEngagedMs: null,
    isBot: ownIsBot,
    referrer: view.referrer,
    referrerHost: view.referrerHost,
    utmSource: view.utmSource,
    utmMedium: view.utmMedium,
    utmCampaign: view.utmCampaign,
    utmTerm: view.utmTerm,
    utmContent: view.utmContent,
    device: view.device,
    browser: view.browser,
    os: view.os,
    country: view.country,
    city: view.city,
  };
  return {
    session,
    isNew: true,
    ended: current,
    previousView: null,
    persist: shouldPersist(1, rules),
    seq: 1,
    isBot: ownIsBot,
    becameBot: false,
    viewsThisMinute,
  };
}

/** The summary is written on the first view and on every `persistEvery`-th. */
function shouldPersist(pageViews: number, rules: SessionRules): boolean {
  return pageViews === 1 || pageViews % rules.persistEvery === 0;
}

/**
 * The stored summary of a hot session. `final` marks it ended at its last page view (not at the sweep time);
 * the duration is always last view − first view.
 */
export function sessionSummary(hot: HotSession, final: boolean): Session {
  return {
    id: hot.id,
    visitorKey: hot.visitorKey,
    userId: hot.userId,
    startedAt: hot.startedAt,
    day: hot.startDay,
    lastSeenAt: hot.lastSeenAt,
    endedAt: final ? hot.lastSeenAt : null,
    durationMs: hot.lastSeenAt - hot.startedAt,
    pageViews: hot.pageViews,
    landingPath: hot.landingPath,
    exitPath: hot.exitPath,
    isBot: hot.isBot,
    convertedUserId: null,
    convertedAt: null,
    referrer: hot.referrer,
    referrerHost: hot.referrerHost,
    utmSource: hot.utmSource,
    utmMedium: hot.utmMedium,
    utmCampaign: hot.utmCampaign,
    utmTerm: hot.utmTerm,
    utmContent: hot.utmContent,
    device: hot.device,
    browser: hot.browser,
    os: hot.os,
    country: hot.country,
    city: hot.city,
  };
}
