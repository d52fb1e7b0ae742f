import { mongoStore } from '@anon/mongo';
import { storeContract } from '@anon/testing';
import { EmulatedDb } from './emulated/emulated-db.js';
import { mongoProbe } from './mongo-probe.js';

// The contract on the emulated collection (mingo behind the driver's Collection API) runs everywhere; the same
// contract on a real MongoDB runs in real-server.test.ts when ANON_MONGO_URL is set.
storeContract('mongo (emulated collection, mingo)', async () => {
  const db = new EmulatedDb();
  const store = mongoStore(db);
  await store.ensureIndexes();
  return { store, probe: mongoProbe(db, 'anon_'), cleanup: async () => undefined };
});
