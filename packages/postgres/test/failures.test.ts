import { isAnonError } from '@anon/core';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/index.js';
import { connectPostgres, PG_URL, startPGlite, uniqueSchema } from './backends.js';
import { batch, ev, view } from './fixtures.js';

const server = await connectPostgres();
const lite = await startPGlite();
const db = lite.client;
afterAll(async () => {
  await lite.end();
  await server?.end();
});
const caught = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (err: unknown) => err,
  );
// Starting a PGlite instance takes seconds: the one test that closes its own gets time for it.
const PGLITE_START_MS = 120_000;

describe('failures', () => {
  it('an unreachable server is store_unavailable, with the driver error as cause', async () => {
    const pool = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMillis: 2_000,
    });
    try {
      const store = postgresStore(pool, { schema: uniqueSchema(), autoMigrate: false });
      const err = await caught(store.write(batch([ev.view(view())])));
      expect(isAnonError(err, 'store_unavailable')).toBe(true);
      expect((err as Error).message).toMatch(/^\[anon\] \[postgres\] write failed: /);
      expect((err as Error).cause).toBeInstanceOf(Error);
      expect(isAnonError(await caught(store.migrate()), 'store_unavailable')).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it(
    'a closed PGlite is store_unavailable',
    async () => {
      const own = new PGlite();
      const store = postgresStore(own, { schema: uniqueSchema() });
      await store.migrate();
      await own.close();
      const err = await caught(store.topPages({ from: '2026-01-01', to: '2026-01-02' }));
      expect(isAnonError(err, 'store_unavailable')).toBe(true);
    },
    PGLITE_START_MS,
  );

  it('a closed store refuses calls with `closed` and leaves the client open', async () => {
    const store = postgresStore(db, { schema: uniqueSchema() });
    await store.migrate();
    await store.close();
    expect(isAnonError(await caught(store.write(batch([]))), 'closed')).toBe(true);
    expect(
      isAnonError(await caught(store.sessions({ from: '2026-01-01', to: '2026-01-01' })), 'closed'),
    ).toBe(true);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('bad options and bad report queries are typed errors', async () => {
    // `timeZone` was removed: the tracker hands it over through `init`.
    for (const options of [{ partitionsAhead: -1 }, { partitionsAhead: 1.5 }, { timeZone: 'UTC' } as never]) {
      expect(() => postgresStore(db, options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'invalid_config' }),
      );
    }
    expect(() => postgresStore(db).init({ timeZone: 'Mars/Olympus', retentionDays: 90 })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    expect(() => postgresStore({} as never)).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    const store = postgresStore(db, { schema: uniqueSchema() });
    const q = { from: '2026-01-01', to: '2026-01-31' };
    const bad: Promise<unknown>[] = [
      store.topPages({ ...q, from: '2026-1-1' }),
      store.topPages({ ...q, to: "2026-01-01'; --" }),
      store.topPages({ ...q, limit: -1 }),
      store.topPages({ ...q, limit: 2.5 }),
      store.funnel(q, [1 as never]),
      store.journeys({ ...q, maxSteps: 0 }),
      store.purge(Number.NaN),
    ];
    for (const p of bad) expect(isAnonError(await caught(p), 'invalid_input')).toBe(true);
  });

  it.runIf(server !== null)('a pool that was ended is store_unavailable', async () => {
    const pool = new pg.Pool({
      connectionString: PG_URL,
    });
    const store = postgresStore(pool, { schema: uniqueSchema() });
    await pool.end();
    expect(
      isAnonError(
        await caught(store.sessions({ from: '2026-01-01', to: '2026-01-01' })),
        'store_unavailable',
      ),
    ).toBe(true);
  });
});
