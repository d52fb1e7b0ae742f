import type { Day } from '@anon/core';
import { type Queryable, rowsOf } from './client.js';
import { text } from './sql.js';

/** Claims of a job older than this many days before the day claimed are pruned (the contract keeps ≥ 7). */
const KEEP_DAYS = 30;

/**
 * Claim (`job`, `day`) — both checked by core's `checkClaimDailyJob` — in one statement: the primary key lets
 * exactly one concurrent insert through; the others find the row (once its transaction commits) and get
 * nothing back. The winner also prunes the job's claims older than `KEEP_DAYS` before `day`, skipping rows
 * another claimer holds.
 */
export async function claimDailyJob(q: Queryable, s: string, job: string, day: Day): Promise<boolean> {
  const [row] = await rowsOf<{ claimed: boolean }>(
    q,
    `WITH claim AS (
       INSERT INTO ${s}.daily_jobs (job, day) VALUES ($1::text, $2::date) ON CONFLICT DO NOTHING RETURNING 1
     ),
     pruned AS (
       DELETE FROM ${s}.daily_jobs WHERE (job, day) IN (
         SELECT job, day FROM ${s}.daily_jobs
         WHERE job = $1::text AND day < $2::date - $3::int AND EXISTS (SELECT 1 FROM claim)
         FOR UPDATE SKIP LOCKED
       )
     )
     SELECT EXISTS (SELECT 1 FROM claim) AS claimed`,
    [text(job), day, KEEP_DAYS],
  );
  return row?.claimed === true;
}
