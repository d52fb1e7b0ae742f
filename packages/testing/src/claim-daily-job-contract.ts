import { type Day, isAnonError, type StoreWriter } from '@anon/core';
import { describe, expect, it } from 'vitest';
import { fixtureVisitorKey } from './fixtures.js';
import { type StoreWriterHarness, storePerTest } from './harness.js';
import type { RegisterCheck } from './live-reports-contract.js';

/** What the claim checks need from a harness. */
export interface ClaimDailyJobHarness {
  store: StoreWriter;
}

/** The store's `claimDailyJob`, failing the test when the store has none. */
function claimOf(store: StoreWriter): (job: string, day: Day) => Promise<boolean> {
  const claim = store.claimDailyJob;
  if (claim === undefined) throw new Error('[anon] [testing] the store has no claimDailyJob');
  return claim.bind(store);
}

/**
 * Registers the `claimDailyJob` checks of the store writer contract: one winner among concurrent claims of one
 * (job, day), each other day and job claimable once, and `invalid_input` on a bad job name or day. Called from
 * `storeWriterContract` / `storeContract`; to run them alone use {@link claimDailyJobContract}.
 */
export function registerClaimDailyJobChecks(
  check: RegisterCheck,
  h: () => ClaimDailyJobHarness,
  timeout: number,
): void {
  check(
    'claimDailyJob: exactly one of ten concurrent claims of a (job, day) wins; other days and jobs are claimable once',
    async () => {
      const claim = claimOf(h().store);
      // Unique per run: a store shared by test files must not see another run's claims.
      const job = `retention-${fixtureVisitorKey()}`;
      const other = `rollup-${fixtureVisitorKey()}`;
      const wins = await Promise.all(Array.from({ length: 10 }, () => claim(job, '2026-01-15')));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await claim(job, '2026-01-15')).toBe(false);
      expect(await claim(job, '2026-01-16')).toBe(true);
      expect(await claim(job, '2026-01-14')).toBe(true);
      expect(await claim(job, '2026-01-16')).toBe(false);
      expect(await claim(other, '2026-01-15')).toBe(true);
      expect(await claim(other, '2026-01-15')).toBe(false);
      // The longest name taken, and a name holding characters a key might split on.
      const longest = `j${fixtureVisitorKey()}`.padEnd(100, 'x');
      expect(await claim(longest, '2026-01-15')).toBe(true);
      expect(await claim(longest, '2026-01-15')).toBe(false);
      const odd = `a:b'"; $x.y ${fixtureVisitorKey()}`;
      expect(await claim(odd, '2026-01-15')).toBe(true);
      expect(await claim(odd, '2026-01-15')).toBe(false);
    },
    timeout,
  );

  check(
    'claimDailyJob rejects a bad job name or day with invalid_input',
    async () => {
      const claim = claimOf(h().store);
      const bad: [unknown, unknown][] = [
        ['', '2026-01-15'],
        ['x'.repeat(101), '2026-01-15'],
        [null, '2026-01-15'],
        [42, '2026-01-15'],
        [{ $gt: '' }, '2026-01-15'],
        ['retention', '2026-02-30'],
        ['retention', '2026-1-5'],
        ['retention', '0000-01-01'],
        ['retention', null],
        ['retention', { $ne: null }],
      ];
      for (const [job, day] of bad) {
        const err = await claim(job as string, day as string).catch((e: unknown) => e);
        expect(isAnonError(err, 'invalid_input'), `${JSON.stringify(job)}, ${JSON.stringify(day)}`).toBe(
          true,
        );
      }
    },
    timeout,
  );
}

/** Options of {@link claimDailyJobContract}. */
export interface ClaimDailyJobContractOptions {
  /** Timeout of each test, in ms. @default 60_000 */
  timeoutMs?: number;
}

/**
 * The `claimDailyJob` checks alone, as a vitest `describe` block (`storeContract` runs them too).
 * @example
 * claimDailyJobContract('my-store', async () => ({ store: myStore(db), probe: myProbe(db), cleanup: () => db.drop() }));
 */
export function claimDailyJobContract(
  name: string,
  create: () => Promise<StoreWriterHarness>,
  options: ClaimDailyJobContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  describe(`claimDailyJob contract: ${name}`, () => {
    const h = storePerTest(create, timeout);
    registerClaimDailyJobChecks((label, body, ms) => it(label, body, ms), h, timeout);
  });
}
