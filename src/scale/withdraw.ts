/**
 * Ending sessions that are still queued: a withdrawal takes the job out of its queue atomically
 * (BullMQ `remove` fails on a job a Worker holds) and ends the session through `settle`, as the
 * session machine would from `queued`. The sweep does it for queue deadlines on every instance,
 * so a session whose submitter died still ends at its deadline.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobData, resultOf } from './job-data.js';
import type { RedisKeys, RedisSessionStore } from './redis-store.js';

export interface Withdrawals {
  /** Takes a queued job out and ends its session with `event`; false when it was not queued. */
  withdraw(provider: string, id: string, event: 'cancel' | 'tick', reason?: string): Promise<boolean>;
  /** Ends queued sessions past their queue deadline, whoever submitted them. */
  sweep(): Promise<void>;
}

export function createWithdrawals(
  queues: ReadonlyMap<string, Queue<JobData>>,
  store: RedisSessionStore,
  redis: Redis,
  keys: RedisKeys,
): Withdrawals {
  async function withdraw(
    provider: string,
    id: string,
    event: 'cancel' | 'tick',
    reason = '',
  ): Promise<boolean> {
    const queue = queues.get(provider);
    if (queue === undefined) return false;
    const job = await queue.getJob(id);
    if (job === undefined || job === null) return false;
    if ((await queue.remove(id)) !== 1) return false;
    const now = Date.now();
    const result = resultOf(job.data, [
      event === 'cancel' ? { type: 'session.cancel', now, reason } : { type: 'session.tick', now },
    ]);
    await store.settle(result, job.data.label);
    return true;
  }

  async function sweep(): Promise<void> {
    if (redis.status !== 'ready') return;
    const due = await redis.zrangebyscore(keys.queueDeadlines, '-inf', Date.now(), 'LIMIT', 0, 100);
    for (const member of due) {
      const bar = member.lastIndexOf('|');
      const provider = member.slice(0, bar);
      const id = member.slice(bar + 1);
      if (!(await withdraw(provider, id, 'tick'))) await redis.zrem(keys.queueDeadlines, member);
    }
  }

  return { withdraw, sweep };
}
