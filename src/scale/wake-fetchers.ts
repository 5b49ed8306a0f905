/**
 * Wakes the Workers blocked on a queue when a job is left there to fetch without BullMQ's own wake.
 *
 * A Worker whose last fetch found nothing it could take (the queue empty, or at its global
 * concurrency: `limits.perProvider`) blocks on the queue's marker (a sorted set) until a job comes,
 * or until its block timeout (BullMQ's `drainDelay`, 5 s). Two of BullMQ's moves add no marker:
 * a job moved back from active to wait when it has a priority (`moveToWait`, a lease handed back:
 * `pushBackJobWithPriority`), and a job completed or failed without fetching the next one in the
 * same script (`fetchNext` false: its Worker is paused, at this instance's `maxConcurrent`), which
 * frees a place in the queue's global concurrency. Another instance, idle, then slept beside the
 * waiting job until its block timeout, and sessions with a queue deadline under 5 s timed out
 * (`tests/scale/idle-fetchers.test.ts`).
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * KEYS: the queue's wait list, prioritized set, meta hash, active list and marker. Adds BullMQ's
 * base marker (`addBaseMarkerIfNeeded`: member "0" at score 0) when a job waits and the queue is
 * below its global concurrency: a Worker woken at the limit would fetch nothing and take the marker.
 */
const WAKE = `if redis.call('LLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then return 0 end
local cap = redis.call('HGET', KEYS[3], 'concurrency')
if cap and redis.call('LLEN', KEYS[4]) >= tonumber(cap) then return 0 end
redis.call('ZADD', KEYS[5], 0, '0')
return 1`;

/** The keys `WAKE` reads of one queue, from the queue's own `toKey`. */
export function wakeKeys(toKey: (type: string) => string): string[] {
  return ['wait', 'prioritized', 'meta', 'active', 'marker'].map(toKey);
}

/** Wakes a blocked Worker of the queue whose `wakeKeys` these are, if it has a job to give. */
export async function wakeFetchers(redis: Redis, keys: readonly string[]): Promise<void> {
  await redis.eval(WAKE, keys.length, ...keys);
}

/**
 * Makes `job`'s completion or failure call `wake` once written when it did not fetch the next job
 * (BullMQ's Worker calls them on this very `Job`, with `fetchNext`).
 */
export function wakeAfterEnd(job: Job, wake: () => Promise<void>): void {
  const complete = job.moveToCompleted.bind(job);
  const fail = job.moveToFailed.bind(job);
  job.moveToCompleted = async (value, token, fetchNext = true) => {
    const next = await complete(value, token, fetchNext);
    if (!fetchNext) await wake();
    return next;
  };
  job.moveToFailed = async (error, token, fetchNext = false) => {
    const next = await fail(error, token, fetchNext);
    if (!fetchNext) await wake();
    return next;
  };
}
