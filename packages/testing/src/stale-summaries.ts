import type { AnonEvent, EventBatch, Session } from '@anon/core';
import type { Traffic } from './generate-traffic.js';

/** The traffic's batches with every session summary after a session's first dropped, odd sessions keeping none. */
export function staleBatches(t: Traffic): { batches: EventBatch[]; sessions: Session[] } {
  const seen = new Map<string, Session | null>();
  let index = 0;
  const batches = t.batches.map((batch) => {
    const events: AnonEvent[] = [];
    for (const event of batch.events) {
      if (event.type !== 'session') {
        events.push(event);
        continue;
      }
      if (!seen.has(event.session.id)) {
        const keep = index++ % 2 === 0;
        seen.set(event.session.id, keep ? event.session : null);
        if (keep) events.push(event);
      }
    }
    return { ...batch, events };
  });
  return { batches, sessions: [...seen.values()].filter((s): s is Session => s !== null) };
}
