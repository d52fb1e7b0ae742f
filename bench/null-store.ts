import type { EventBatch, PurgeResult, Session, Store, WriteResult } from '@anon/core';

/**
 * The writer side of a store (what the tracker's worker calls), with nothing behind it: `write` counts the
 * events and reports them all written, `visitorSessions` finds none, `purge` removes nothing. The overhead
 * servers drain their queue into it, so a run measures what a deployment pays on the app's process (the
 * request path, the batch pipeline, the hot store, the events and the worker's hand-off) and not a queue
 * filling up, nor a database sharing the cores. A bench fixture, not a product `Store`.
 */
export interface NullStore {
  write(batch: EventBatch): Promise<WriteResult>;
  visitorSessions(visitorKeys: string[], since: number, until: number): Promise<Session[]>;
  purge(before: number, options?: { dryRun?: boolean }): Promise<PurgeResult>;
  /** Batches and events written so far. */
  counts(): { batches: number; events: number };
}

/** A fresh null store (see `NullStore`). */
export function nullStore(): NullStore {
  let batches = 0;
  let events = 0;
  return {
    write: async (batch) => {
      batches += 1;
      events += batch.events.length;
      return { applied: true, written: batch.events.length };
    },
    visitorSessions: async () => [],
    purge: async () => ({ sessions: 0, pageViews: 0, metrics: 0 }),
    counts: () => ({ batches, events }),
  };
}

/**
 * The null store as the tracker's `store` option. The tracker's worker calls only the writer methods
 * (`write`, `visitorSessions`); the report queries of `Store` are absent on purpose, and a report read through
 * this object would be a bench bug, so the type says what the tracker expects and no more is pretended.
 */
export function asTrackerStore(store: NullStore): Store {
  return store as unknown as Store;
}
