/** A `BullSessionQueue` of provider `p` on a private Redis, for tests of the queue adapter at its port. */
import { Redis } from 'ioredis';
import { systemClock } from '../../src/core/clock.js';
import { BullSessionQueue } from '../../src/scale/bull-queue.js';
import { RedisKeys } from '../../src/scale/redis-store.js';

let seq = 0;

export async function bullQueueOf(
  url: string,
  limits: { perProvider: Record<string, number>; maxConcurrent: number; fairnessEvery: number },
  /** Another instance's prefix, for two instances of one cluster; a new one by default. */
  prefix = `bullq${++seq}`,
) {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const errors: unknown[] = [];
  const queue = new BullSessionQueue(
    ['p'],
    limits,
    { url, prefix, lockDurationMs: 5_000, stalledIntervalMs: 5_000 },
    redis,
    new RedisKeys(prefix),
    (error) => errors.push(error),
    systemClock,
  );
  await queue.apply();
  return {
    queue,
    errors,
    redis,
    prefix,
    close: async () => {
      await queue.close();
      await redis.quit();
    },
  };
}
