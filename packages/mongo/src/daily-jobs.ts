import { checkClaimDailyJob } from '@anon/core/adapter';
import type { Collections } from './collections.js';
import { isDuplicateKeyError, SOURCE } from './errors.js';

const DAY_MS = 86_400_000;
/** A claim outlives its day by this much (core asks for at least 7 days), then the TTL index removes it. */
const CLAIM_KEPT_MS = 8 * DAY_MS;

/**
 * Claim (`job`, `day`) once across every instance sharing the database: the insert of `_id: <job>:<day>` is
 * atomic, so exactly one caller inserts and every other one hits E11000 and gets false. The job name and the
 * day are values of `_id`, never field names; the day is a fixed-width suffix, so `<job>:<day>` never collides.
 */
export async function claimDailyJob(
  c: Collections,
  job: unknown,
  day: unknown,
  now: () => number,
): Promise<boolean> {
  const claim = checkClaimDailyJob(job, day, SOURCE);
  try {
    await c.dailyJobs.insertOne({
      _id: `${claim.job}:${claim.day}`,
      job: claim.job,
      day: claim.day,
      claimedAt: new Date(now()),
      expireAt: new Date(now() + CLAIM_KEPT_MS),
    });
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
