import { type StoreProbe, storeContract, storeWriterContract } from '@anon/testing';
import { afterAll } from 'vitest';
import { backends, freshStore } from './backends.js';

// PostgreSQL when reachable (required under CI=true), PGlite always; each test gets its own schema.
const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

for (const backend of list) {
  storeContract(backend.name, async () => {
    const f = await freshStore(backend);
    const probe: StoreProbe = f.probe;
    return { store: f.store, probe, cleanup: f.cleanup };
  });
  // The rows bound as arrays instead of copied into staging tables: the same writes, checked the same way.
  storeWriterContract(`${backend.name}, staging: 'unnest'`, async () => {
    const f = await freshStore(backend, { staging: 'unnest' });
    return { store: f.store, probe: f.probe, cleanup: f.cleanup };
  });
}
