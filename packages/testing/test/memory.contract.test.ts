import { type MemoryStore, memoryHotStore, memoryQueue, memoryStore } from '@anon/core/memory';
import { hotStoreContract, queueContract, type StoreProbe, storeContract } from '@anon/testing';

/** Reads the memory store's raw contents (its `dump()`), bypassing its reports. */
function memoryProbe(store: MemoryStore): StoreProbe {
  return {
    async pageViewIds() {
      return store.dump().pageViews.map((v) => v.id);
    },
    async metricIds() {
      return store.dump().metrics.map((m) => `${m.viewId}:${m.metric}`);
    },
    async session(id) {
      return store.dump().sessions.find((s) => s.id === id) ?? null;
    },
    async aggregates() {
      return store.dump().aggregates;
    },
    async conversionIds() {
      return store.dump().conversions.map((c) => c.id);
    },
    async botRowIds() {
      const { pageViews, metrics } = store.dump();
      return {
        pageViews: pageViews.filter((v) => v.isBot).map((v) => v.id),
        metrics: metrics.filter((m) => m.isBot).map((m) => `${m.viewId}:${m.metric}`),
      };
    },
    async tablesHolding(text) {
      return Object.entries(store.dump())
        .filter(([, rows]) => rows.some((row: object) => JSON.stringify(row).includes(text)))
        .map(([name]) => name);
    },
  };
}

storeContract('memory', async () => {
  const store = memoryStore();
  return { store, probe: memoryProbe(store), cleanup: async () => {} };
});

hotStoreContract('memory', async () => {
  const hot = memoryHotStore();
  return {
    hot,
    // One process, one backend: a second "instance" is the same object.
    peer: async () => hot,
    probe: {
      sessionCount: async () => hot.sessionCount(),
      keysWithoutExpiry: async () => [],
    },
    cleanup: async () => {},
  };
});

const CAPACITY = 500;

queueContract(
  'memory',
  async () => {
    const queue = memoryQueue({ maxEvents: CAPACITY, batchSize: 25, retryInitialMs: 10 });
    return { queue, peer: async () => queue, cleanup: () => queue.close() };
  },
  { capacity: CAPACITY, flushWaitsForHandler: true },
);
