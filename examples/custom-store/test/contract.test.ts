import { compareCodePoints } from '@anon/core/adapter';
import { reportsContract, type StoreProbe, storeWriterContract } from '@anon/testing';
import { arrayStore } from '../src/array-store.js';
import { createTables, type Tables } from '../src/tables.js';

/**
 * Reads the tables directly — the "database" — never through the store, so a store that reports what it
 * never stored cannot pass. Copies, so a later write cannot change a snapshot the suite already took.
 */
function arrayProbe(tables: Tables): StoreProbe {
  return {
    pageViewIds: async () => tables.pageViews.map((v) => v.id),
    metricIds: async () => tables.metrics.map((m) => `${m.viewId}:${m.metric}`),
    session: async (id) => structuredClone(tables.sessions.find((s) => s.id === id) ?? null),
    aggregates: async () =>
      structuredClone(tables.aggregates).sort(
        (a, b) => compareCodePoints(a.day, b.day) || compareCodePoints(a.path, b.path),
      ),
    conversionIds: async () => tables.conversions.map((c) => c.id),
    botRowIds: async () => ({
      pageViews: tables.pageViews.filter((v) => v.isBot).map((v) => v.id),
      metrics: tables.metrics.filter((m) => m.isBot).map((m) => `${m.viewId}:${m.metric}`),
    }),
    tablesHolding: async (text) =>
      Object.entries(tables)
        .filter(([, rows]) => (rows as unknown[]).some((row) => JSON.stringify(row).includes(text)))
        .map(([name]) => name),
  };
}

function harness() {
  const tables = createTables();
  return { store: arrayStore(tables), probe: arrayProbe(tables), cleanup: async () => {} };
}

// Write a store's write side first and run its contract alone; add the reports and run theirs.
// (`storeContract` runs both in one block.)
storeWriterContract('array store (examples/custom-store)', async () => harness());
reportsContract('array store (examples/custom-store)', async () => harness());
