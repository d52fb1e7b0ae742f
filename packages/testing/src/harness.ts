import type { DailyAggregate, HotStore, Queue, Session, Store, StoreWriter } from '@anon/core';
import { DEFAULT_STORE_SETTINGS } from '@anon/core/adapter';
import { afterEach, beforeEach } from 'vitest';

/** Raw reads of the database that bypass the store's own code, so the suite checks what was really stored. */
export interface StoreProbe {
  /** Every stored page view id. */
  pageViewIds(): Promise<string[]>;
  /** `${viewId}:${metric}` of every stored metric. */
  metricIds(): Promise<string[]>;
  /** The stored session row, mapped to the `Session` type; null when there is none. */
  session(id: string): Promise<Session | null>;
  /** Every aggregate row, sorted by day then path. */
  aggregates(): Promise<DailyAggregate[]>;
  /** Every stored conversion id. */
  conversionIds(): Promise<string[]>;
  /**
   * Ids of the stored page views flagged bot (`isBot`), and `${viewId}:${metric}` of the stored metrics flagged
   * bot, for the bot-session checks. Optional: without it, the flags are checked through the aggregates and
   * the reports only.
   */
  botRowIds?(): Promise<{ pageViews: string[]; metrics: string[] }>;
  /**
   * Where `text` occurs in any field of any row or document the store holds, one entry per table or
   * collection that has such a row (its name), for the erasure check. Optional: without it, erasure is checked
   * through the other reads only.
   */
  tablesHolding?(text: string): Promise<string[]>;
}

/** A fresh, empty store (its write side at least) with its probe; `cleanup` drops whatever the test wrote. */
export interface StoreWriterHarness {
  store: StoreWriter;
  probe: StoreProbe;
  cleanup(): Promise<void>;
}

/** A fresh, empty store with its reports, and its probe. */
export interface StoreHarness extends StoreWriterHarness {
  store: Store;
}

/** Raw reads of a hot store's backend. */
export interface HotStoreProbe {
  /** Sessions currently held (live or claimed, not completed). */
  sessionCount(): Promise<number>;
  /** Keys or entries the backend holds that have NO expiry (must end up empty); memory returns []. */
  keysWithoutExpiry(): Promise<string[]>;
}

/** A fresh hot store, a way to open a second instance on the same backend, and a probe. */
export interface HotStoreHarness {
  hot: HotStore;
  /** Another HotStore on the SAME backend, as a second app instance would have. */
  peer(): Promise<HotStore>;
  probe: HotStoreProbe;
  cleanup(): Promise<void>;
}

/** A fresh queue and a way to open a second instance (another app instance or worker) on the same backend. */
export interface QueueHarness {
  queue: Queue;
  /** Another Queue on the SAME backend (another instance / worker). */
  peer(): Promise<Queue>;
  cleanup(): Promise<void>;
}

/**
 * A fresh store harness for every test of the enclosing `describe`: created before each test with the tracker's
 * default settings stated to the store (as the tracker does at start), cleaned up after it. Returns the getter
 * the checks read it through.
 */
export function storePerTest<H extends StoreWriterHarness>(
  create: () => Promise<H>,
  timeout: number,
): () => H {
  let harness: H | null = null;
  beforeEach(async () => {
    harness = await create();
    await harness.store.init?.({ ...DEFAULT_STORE_SETTINGS });
  }, timeout);
  afterEach(async () => {
    const done = harness;
    harness = null;
    await done?.cleanup();
  }, timeout);
  return () => {
    if (harness === null) throw new Error('[anon] [testing] the store harness was not created');
    return harness;
  };
}
