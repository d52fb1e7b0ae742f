// SIGNATURE STUB — the core-engine helper implements this exactly as docs/semantics.md says.
import type { SessionRules, SessionStep, ViewDraft } from './ports.js';
import type { HotSession, Session } from './types.js';

export interface SessionizeInput {
  view: ViewDraft;
  visitorKey: string;
  newSessionId: string;
  viewsThisMinute: number;
}

/** The pure session reducer every hot store applies atomically (docs/semantics.md). */
export declare function sessionize(current: HotSession | null, input: SessionizeInput, rules: SessionRules): SessionStep;

/** The stored summary of a hot session; `final` sets `endedAt = lastSeenAt`. */
export declare function sessionSummary(hot: HotSession, final: boolean): Session;
