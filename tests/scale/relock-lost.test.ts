/**
 * How an instance tells that its lease of a job is lost (`Relocks.renewalFailed`, src/scale/relock.ts)
 * when BullMQ could not renew the job's lock, against a real redis-server, the lock set by hand:
 * lost only when the lock bears a token this instance's Worker did not mint (another instance
 * leased it after a stalled check moved it). A lock that is gone is no loss yet (the job
 * may still be active, a check may not move it, or a hold retake it), and a token of a later lease
 * here (the job leased back by this same instance) is still its own. The process-level case, an
 * instance frozen past its lock: `lapsed-lease.test.ts`.
 */
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Relocks } from '../../src/scale/relock.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let server: RedisServer;
let redis: Redis;
const queues: Queue[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  redis?.disconnect();
  await server?.stop();
});

/** Leases of job `j` held by one instance under `tokens` while its lock holds `lock`; what each lease's signal says once a failed renewal of it was looked at. */
async function lostAfterFailure(tokens: string[], lock: string | null): Promise<boolean[]> {
  const queue = new Queue('p', { connection: { url: server.url }, prefix: `lost${++prefixSeq}` });
  queues.push(queue);
  if (lock !== null) await redis.set(queue.toKey('j:lock'), lock, 'PX', 10_000);
  await redis.lpush(queue.toKey('active'), 'j');
  const errors: unknown[] = [];
  const relocks = new Relocks(redis, 1_500, (error) => errors.push(error));
  const job = { id: 'j' } as Job;
  const signals: AbortSignal[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const runs = tokens.map((token) =>
    relocks.during(queue, job, token, (lost) => {
      signals.push(lost);
      return held;
    }),
  );
  relocks.renewalFailed(queue, ['j'], 'mine:');
  // The lock's read went out before this round trip on the same connection: its answer has been handled.
  await redis.ping();
  await new Promise((resolve) => setImmediate(resolve));
  const lost = signals.map((signal) => signal.aborted);
  release();
  await Promise.all(runs);
  expect(errors).toEqual([]);
  return lost;
}

it('tells a lease it is lost when another instance’s token holds the job’s lock', async () => {
  expect(await lostAfterFailure(['mine:1'], 'theirs:7')).toEqual([true]);
  // Every lease of it here: an earlier one joined by a later one, both lost.
  expect(await lostAfterFailure(['mine:1', 'mine:2'], 'theirs:7')).toEqual([true, true]);
});

it('tells no loss while the lock is gone, or held by a lease of this instance', async () => {
  // Gone, the job still active: a check may still move it, or a hold retake it.
  expect(await lostAfterFailure(['mine:1'], null)).toEqual([false]);
  // Its own token (a relock took it back meanwhile).
  expect(await lostAfterFailure(['mine:1'], 'mine:1')).toEqual([false]);
  // Leased back by this instance: the later lease's token is its own.
  expect(await lostAfterFailure(['mine:1', 'mine:2'], 'mine:2')).toEqual([false, false]);
  // Leased back by this instance's Worker, its processing not begun here yet: its token is its own.
  expect(await lostAfterFailure(['mine:1'], 'mine:2')).toEqual([false]);
});
