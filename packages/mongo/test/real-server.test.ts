import { INDEXES, mongoStore } from '@anon/mongo';
import { storeContract } from '@anon/testing';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { mongoProbe } from './mongo-probe.js';

// The same contract against a real MongoDB, when one is given: e.g.
//   docker run -d -p 27017:27017 mongo:7
//   ANON_MONGO_URL=mongodb://127.0.0.1:27017 pnpm vitest run packages/mongo
const url = process.env.ANON_MONGO_URL;

if (url === undefined || url === '') {
  console.warn(
    '[anon] [mongo] real-server tests skipped: ANON_MONGO_URL is not set (no MongoDB server here; the store ' +
      'contract still runs on the emulated collection in store-contract.test.ts)',
  );
  describe.skip('mongo on a real server (set ANON_MONGO_URL)', () => {
    it('runs the store contract', () => undefined);
  });
} else {
  // One database per test file run, one collection prefix per test: files and tests never share data.
  const dbName = `anon_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let client: MongoClient | null = null;
  let prefixes = 0;
  const database = async (): Promise<Db> => {
    client ??= await new MongoClient(url, { serverSelectionTimeoutMS: 5_000 }).connect();
    return client.db(dbName);
  };
  const dropPrefix = async (db: Db, prefix: string) => {
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name.startsWith(prefix)) await db.collection(name).drop();
    }
  };
  afterAll(async () => {
    if (client === null) return;
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  storeContract('mongo (real server)', async () => {
    const db = await database();
    const prefix = `t${++prefixes}_`;
    const store = mongoStore(db, { prefix });
    await store.ensureIndexes();
    return { store, probe: mongoProbe(db, prefix), cleanup: () => dropPrefix(db, prefix) };
  });

  describe('mongo (real server): ensureIndexes', () => {
    it('creates exactly the declared indexes, including the TTL indexes', async () => {
      const db = await database();
      const prefix = 'idx_';
      const store = mongoStore(db, { prefix });
      await store.ensureIndexes();
      await store.ensureIndexes();
      for (const [key, specs] of Object.entries(INDEXES)) {
        // A collection given no index is not created by ensureIndexes (listing its indexes would fail).
        if (specs.length === 0) continue;
        const listed = await db
          .collection(store.collections[key as keyof typeof INDEXES])
          .listIndexes()
          .toArray();
        expect(
          listed.map(({ name, key, expireAfterSeconds, sparse }) => ({
            name,
            key,
            ...(expireAfterSeconds === undefined ? {} : { expireAfterSeconds }),
            ...(sparse === undefined ? {} : { sparse }),
          })),
        ).toEqual([{ name: '_id_', key: { _id: 1 } }, ...specs]);
      }
      await dropPrefix(db, prefix);
    });
  });
}
