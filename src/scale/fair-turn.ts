/**
 * The scheduler's anti-starvation turn (`limits.fairnessEvery`, `src/core/scheduler.ts`) on BullMQ,
 * which alone serves a queue strictly by priority: without the turn, a steady stream of
 * high-priority sessions holds a low-priority one until its queue deadline.
 *
 * Each provider's queue has an arrival index beside it, a sorted set of its waiting sessions by
 * arrival (`createdAt`, and the order they were added in within a millisecond). A lease removes its session from the index and counts itself; when `fairnessEvery`
 * leases in a row, across the cluster, went to sessions that were not the longest-waiting, the
 * longest-waiting one is moved to BullMQ's wait list (`changePriority` to 0), which every Worker
 * takes before prioritized jobs: the next lease of that queue runs it (behind a fallback hop
 * moved there meanwhile, as hops go ahead of every queued session). So, as in memory, a session
 * with k older sessions ahead of it is leased within about (k + 1) × fairnessEvery leases of its
 * provider, whatever the priorities of the sessions that keep arriving.
 */
import type { Redis } from 'ioredis';

/**
 * KEYS[1]: the arrival index; KEYS[2]: the count of leases since the oldest was last served.
 * ARGV[1]: the leased session; ARGV[2]: fairnessEvery; ARGV[3]: the queue's job key prefix.
 * Returns the session to move ahead, or false. Entries whose job is gone (a session withdrawn by
 * an instance that died before it cleaned up) are dropped on the way, so one can never hold the turn.
 */
const LEASED = `local wasOldest = redis.call('ZRANK', KEYS[1], ARGV[1]) == 0
redis.call('ZREM', KEYS[1], ARGV[1])
if wasOldest then
  redis.call('SET', KEYS[2], 0)
  return false
end
if redis.call('INCR', KEYS[2]) < tonumber(ARGV[2]) then return false end
redis.call('SET', KEYS[2], 0)
for _ = 1, 16 do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not oldest then return false end
  redis.call('ZREM', KEYS[1], oldest)
  if redis.call('EXISTS', ARGV[3] .. oldest) == 1 then return oldest end
end
return false`;

export interface FairQueue {
  /** BullMQ's key of a job of this queue (`Queue.toKey(id)`). */
  toKey(id: string): string;
  /** Moves a waiting job ahead of the queue's prioritized jobs; a job gone meanwhile is no error. */
  moveAhead(id: string): Promise<void>;
}

export class FairTurn {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly every: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** A session joined `provider`'s queue (or went back to wait there), at its place in arrival order. */
  arrived(provider: string, sessionId: string, arrival: number): Promise<unknown> {
    return this.redis.zadd(this.index(provider), arrival, sessionId);
  }

  /** A session left `provider`'s queue without being leased (withdrawn). */
  left(provider: string, sessionId: string): Promise<unknown> {
    return this.redis.zrem(this.index(provider), sessionId);
  }

  /**
   * `sessionId` was leased from `provider`'s queue: counts the lease and, on the turn, moves the
   * longest-waiting session ahead (a failure to move it reaches `onError`: it concerns another
   * session, not this lease).
   */
  async leased(provider: string, sessionId: string, queue: FairQueue): Promise<void> {
    const ahead = (await this.redis.eval(
      LEASED,
      2,
      this.index(provider),
      `${this.prefix}:fair:${provider}`,
      sessionId,
      this.every,
      queue.toKey(''),
    )) as string | null;
    if (ahead !== null) await queue.moveAhead(ahead).catch(this.onError);
  }

  /** The key of `provider`'s arrival index. */
  index(provider: string): string {
    return `${this.prefix}:arrivals:${provider}`;
  }
}
