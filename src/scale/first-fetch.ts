/**
 * Which provider's Worker fetches first when an instance at `limits.maxConcurrent` has room again.
 *
 * BullMQ keeps one queue per provider and orders each by itself; an instance at its bound pauses
 * every Worker, and one that resumed them all gave the freed slot to whichever fetched first, so a
 * priority-1 session of one provider could start before a priority-9 one of another. One process
 * gives it to the highest priority of any provider (`src/core/scheduler.ts`). Here one script reads
 * the head of every provider's queue, as BullMQ would fetch it (its wait list, which holds moved
 * hops and the fairness turn's session, before its prioritized jobs), and names the queue whose head
 * one process would run next: the highest priority, then the lowest depth (callers' turns; both are
 * in BullMQ's priority number, `bullPriority`), then the longest waiting (the arrival index of
 * `fair-turn.ts`). A queue that cannot give a job now is passed over: one at its global concurrency
 * (`limits.perProvider`) or rate limited (a provider that answered "full"). Only that queue's Worker
 * resumes; the others follow once it has leased, or after `FIRST_FETCH_GRACE_MS` if it has not
 * (another instance took that head, or it went meanwhile): never a slot left empty for longer.
 */
import type { Redis } from 'ioredis';

/** How long the other Workers wait for the chosen one to lease before they fetch too, in ms. */
export const FIRST_FETCH_GRACE_MS = 250;

/**
 * KEYS: per queue, in order, its wait list, prioritized set, meta hash, active list, limiter key
 * and arrival index (six keys a queue). Returns the 1-based position of the queue whose head goes
 * first, or 0 when no queue has a job it can give now. BullMQ scores a prioritized job
 * `priority * 2^32 + counter` (lower first; troupe's priority 9 at depth 0 is BullMQ's 1); a
 * wait-list job goes before every prioritized one, and its Worker takes the list's tail first.
 */
const FIRST = `local best, bestRank, bestArrival = 0, 0, 0
for q = 0, #KEYS / 6 - 1 do
  local k = q * 6
  local id = redis.call('LINDEX', KEYS[k + 1], -1)
  local rank = -1
  if not id then
    local head = redis.call('ZRANGE', KEYS[k + 2], 0, 0, 'WITHSCORES')
    if head[1] then
      id = head[1]
      rank = math.floor(tonumber(head[2]) / 4294967296)
    end
  end
  if id then
    local cap = redis.call('HGET', KEYS[k + 3], 'concurrency')
    local maxed = cap and redis.call('LLEN', KEYS[k + 4]) >= tonumber(cap)
    if not maxed and redis.call('PTTL', KEYS[k + 5]) <= 0 then
      local arrival = tonumber(redis.call('ZSCORE', KEYS[k + 6], id) or '0')
      if best == 0 or rank < bestRank or (rank == bestRank and arrival < bestArrival) then
        best, bestRank, bestArrival = q + 1, rank, arrival
      end
    end
  end
end
return best`;

/**
 * The six keys the script reads of one provider's queue, in its order: BullMQ's keys for the queue
 * (`toKey`, a `Queue`'s own) and the queue's arrival index.
 */
export function headKeys(toKey: (type: string) => string, arrivals: string): string[] {
  return [...['wait', 'prioritized', 'meta', 'active', 'limiter'].map(toKey), arrivals];
}

/**
 * The index of the queue whose head one process would run next, or -1 when none can give one;
 * `keys`: each queue's `headKeys`, one queue after another.
 */
export async function firstToFetch(redis: Redis, keys: readonly string[]): Promise<number> {
  return ((await redis.eval(FIRST, keys.length, ...keys)) as number) - 1;
}
