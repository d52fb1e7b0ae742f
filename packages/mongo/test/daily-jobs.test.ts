import { mongoStore } from '@anon/mongo';
import { DAY_MS } from '@anon/testing';
import { describe, expect, it } from 'vitest';
import { EmulatedDb } from './emulated/emulated-db.js';

// The contract checks one store's concurrent claims; here, several instances on one database, the stored
// claim, and its pruning by the TTL index.

describe('claimDailyJob on MongoDB', () => {
  it('exactly one of several instances sharing the database wins a (job, day)', async () => {
    const db = new EmulatedDb();
    const instances = Array.from({ length: 5 }, () => mongoStore(db));
    await instances[0]!.ensureIndexes();
    const wins = await Promise.all(
      instances.flatMap((store) => [
        store.claimDailyJob('retention', '2026-03-01'),
        store.claimDailyJob('retention', '2026-03-01'),
      ]),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    const [claim] = db.collection('anon_daily_jobs').snapshot();
    expect(claim).toMatchObject({ _id: 'retention:2026-03-01', job: 'retention', day: '2026-03-01' });
    expect(claim?.expireAt).toBeInstanceOf(Date);
  });

  it('a job name holding `:` never collides with another job and day', async () => {
    const store = mongoStore(new EmulatedDb());
    expect(await store.claimDailyJob('x:2026-03-01', '2026-03-02')).toBe(true);
    expect(await store.claimDailyJob('x', '2026-03-01')).toBe(true);
    expect(await store.claimDailyJob('x:2026-03-01', '2026-03-02')).toBe(false);
  });

  it('a claim is kept at least a week, then the TTL index prunes it', async () => {
    const db = new EmulatedDb();
    const store = mongoStore(db);
    await store.ensureIndexes();
    expect(await store.claimDailyJob('retention', '2026-03-01')).toBe(true);
    db.expire(new Date(Date.now() + 7 * DAY_MS));
    expect(await store.claimDailyJob('retention', '2026-03-01')).toBe(false);
    db.expire(new Date(Date.now() + 9 * DAY_MS));
    expect(db.collection('anon_daily_jobs').snapshot()).toEqual([]);
  });
});
