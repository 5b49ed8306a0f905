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
import { SimulatedClock } from 'xstate';
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
  const relocks = new Relocks(redis, 1_500, new SimulatedClock(), (error) => errors.push(error));
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

/** A lease of job `j` under `mine:1`, begun when the job had been leased `leasedAs` times; the job now
 * active with no lock and leased `ats` times; `silentMs` on the clock after its last good renewal.
 * What the lock holds once `act` (a retake, or a failed renewal looked at) has been answered. */
async function lockAfter(
  act: (relocks: Relocks, queue: Queue) => void,
  { leasedAs = 1, ats = 1, silentMs = 0, renewedAtMs = 0 } = {},
): Promise<string | null> {
  const queue = new Queue('p', { connection: { url: server.url }, prefix: `relock${++prefixSeq}` });
  queues.push(queue);
  await redis.lpush(queue.toKey('active'), 'j');
  await redis.hset(queue.toKey('j'), 'ats', ats);
  const errors: unknown[] = [];
  const clock = new SimulatedClock();
  clock.set(1_000);
  const relocks = new Relocks(redis, 1_500, clock, (error) => errors.push(error));
  const job = { id: 'j', attemptsStarted: leasedAs } as Job;
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const run = relocks.during(queue, job, 'mine:1', () => held);
  clock.set(1_000 + renewedAtMs);
  if (renewedAtMs > 0) relocks.renewed(queue, ['j']);
  clock.set(1_000 + renewedAtMs + silentMs);
  act(relocks, queue);
  // Each script or read went out before this round trip on the same connection, and a retake after a
  // read is sent as its answer is handled: two round trips.
  for (let i = 0; i < 2; i++) {
    await redis.ping();
    await new Promise((resolve) => setImmediate(resolve));
  }
  release();
  await run;
  expect(errors).toEqual([]);
  return redis.get(queue.toKey('j:lock'));
}

const retake = (relocks: Relocks) => relocks.retake();
const failed = (relocks: Relocks, queue: Queue) => relocks.renewalFailed(queue, ['j'], 'mine:');

it('retakes a lapsed lock only for the lease the job last had: not after another lease of it', async () => {
  expect(await lockAfter(retake)).toBe('mine:1');
  // Moved and leased again (here or elsewhere) since this lease began, that lease's lock lapsed too.
  expect(await lockAfter(retake, { ats: 2 })).toBeNull();
});

it('retakes a lock gone at a failed renewal when this instance was silent past the lock’s life, not otherwise', async () => {
  // No good renewal for 1.6 s (starved): its own silence lapsed the lock, the job is still this lease's.
  expect(await lockAfter(failed, { silentMs: 1_600 })).toBe('mine:1');
  // Renewed 1.6 s after the lease began, silent 1 s since: the lock was taken away, not lapsed here.
  expect(await lockAfter(failed, { renewedAtMs: 1_600, silentMs: 1_000 })).toBeNull();
  // Silent, but the job was leased again meanwhile: not this lease's any more.
  expect(await lockAfter(failed, { silentMs: 1_600, ats: 2 })).toBeNull();
});
