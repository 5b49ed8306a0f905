/**
 * A started session's job that a stalled check moved back to wait (its instance died, or stayed
 * silent past its lock) is swept at its run deadline: the deadline set every instance sweeps gets
 * it there (`Withdrawals.sweep` ends a started session still waiting past its run deadline, from
 * its run record, `timedOut`). Its run deadline holds while it waits for a slot, as in one process.
 *
 * Why: that set held its queue deadline, moved to its run deadline only by a sweep that found the
 * queue deadline past, and dropped when a sweep found the run deadline past while the job was
 * still held by the dead instance's lapsing lock. Until 2026-12-07 a session taken over from a
 * killed instance while every survivor ran at its `maxConcurrent` waited past its run deadline for
 * a slot: with a 2 s timeout and a 30 s queue timeout it ended `timedOut` 23 s after its start,
 * when a survivor's call ended (`tests/scale/takeover-timeout.test.ts`). Only the stalled check
 * knows the job moved; it runs this once for the jobs it moved, a round trip only then, and again
 * at its next checks while Redis does not take it (`stalled-check.ts`).
 */
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-store.js';

// KEYS: the deadline set. ARGV: the queue's name, the prefix of run records and of results, then
// the moved ids. A session with a run record and no end gets its run deadline; one never started
// keeps its queue deadline; one ended meanwhile (leased at once, and run to its end) gets nothing.
const REARM = `
for i = 4, #ARGV do
  local id = ARGV[i]
  local at = redis.call('HGET', ARGV[2] .. id, 'runDeadlineAt')
  if at and redis.call('EXISTS', ARGV[3] .. id) == 0 then
    redis.call('ZADD', KEYS[1], at, ARGV[1] .. '|' .. id)
  end
end
return 0`;

/** Puts the sessions of `ids`, moved back to wait in `provider`'s queue, at their run deadline in the sweep's set. */
export async function sweepAtRunDeadline(
  redis: Redis,
  keys: RedisKeys,
  provider: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  await redis.eval(REARM, 1, keys.queueDeadlines, provider, keys.run(''), keys.result(''), ...ids);
}
