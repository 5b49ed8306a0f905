/**
 * A job the stalled check moved back to wait has its session put at its run deadline in the set
 * every instance sweeps (`stalled-deadlines.ts`), one write after the check. Redis away right then
 * (here: restarted, with its data, between the two): the write is given again at the next check,
 * once Redis is back. Until 2026-12-08 it was dropped, and such a session, taken over from a killed
 * instance with every survivor full, waited past its run deadline for a slot or its queue deadline
 * ("An instance is killed" in docs/scale-out.md). A real redis-server, the checks' own connection
 * as the backend opens it, and each check the test's (`fixtures/hand-checks.ts`).
 */
import type { Queue } from 'bullmq';
import { Queue as BullQueue } from 'bullmq';
import { type Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectRedis } from '../../src/scale/connect.js';
import { RedisKeys } from '../../src/scale/redis-store.js';
import { StalledChecks } from '../../src/scale/stalled-check.js';
import { sweepAtRunDeadline } from '../../src/scale/stalled-deadlines.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { handChecks } from './fixtures/hand-checks.js';

const PREFIX = 'rearm';
const STALLED_INTERVAL_MS = 200;
// A lock's life far past the test's own gaps between checks: a gap of more than half of it would
// hold the checks (`stalled-check.ts`), and the loaded machine's pauses must not.
const LOCK_MS = 60_000;
const RUN_DEADLINE_AT = 1_900_000_000_000;
const keys = new RedisKeys(PREFIX);
let server: RedisServer;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  server = await startRedis({ appendOnly: true });
  redis = await connectRedis(server.url, { pipelined: true });
  queue = new BullQueue('p', { connection: { url: server.url }, prefix: PREFIX });
  queue.on('error', () => {});
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

const hand = handChecks();

/**
 * Checks on `queue` whose `onMoved` is `rearm` (the real write, by default), and a session `id` whose
 * job is active, its lock lapsed, marked by a check before: the next check moves it.
 */
async function stalledSession(id: string, rearm: (ids: readonly string[]) => Promise<void>) {
  const errors: unknown[] = [];
  const rearms: string[][] = [];
  const checks = new StalledChecks(
    redis,
    hand.clock,
    { lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_INTERVAL_MS, maxStalledCount: 1000 },
    (error) => errors.push(error),
    () => {},
    (_, ids) => {
      rearms.push([...ids]);
      return rearm(ids);
    },
  );
  const check = () => hand.once(checks, queue);
  await check(); // no job active: the guard's record of a recent call, so no hold
  await redis.hset(keys.run(id), 'runDeadlineAt', String(RUN_DEADLINE_AT));
  await redis.hset(queue.toKey(id), 'name', 'session', 'data', '{}', 'timestamp', String(Date.now()));
  await redis.lpush(queue.toKey('active'), id);
  await redis.sadd(queue.toKey('stalled'), id);
  await redis.del(queue.toKey('stalled-check'));
  rearms.length = 0;
  return { check, errors, rearms, deadline: () => redis.zscore(keys.queueDeadlines, `p|${id}`) };
}

it('puts a moved session at its run deadline at the next check when Redis was away right after the check', async () => {
  let away: Promise<void> | undefined;
  const s = await stalledSession('s1', async (ids) => {
    if (away === undefined) {
      // Redis goes away between the check and the write that follows it.
      away = server.restart(300);
      await expect.poll(() => redis.status, { timeout: 10_000 }).not.toBe('ready');
    }
    await sweepAtRunDeadline(redis, keys, 'p', ids);
  });

  await s.check();
  expect(s.rearms).toEqual([['s1']]);
  await away;
  await expect.poll(() => redis.status, { timeout: 10_000 }).toBe('ready');
  // The check moved it, and Redis kept that (its AOF); the write after it never came.
  expect(await redis.lrange(queue.toKey('wait'), 0, -1)).toContain('s1');
  expect(await s.deadline()).toBeNull();

  await s.check();
  expect(s.rearms).toEqual([['s1'], ['s1']]);
  expect(Number(await s.deadline())).toBe(RUN_DEADLINE_AT);
  expect(s.errors).toEqual([]);

  // Given once it is taken: a later check writes nothing again.
  await redis.zrem(keys.queueDeadlines, 'p|s1');
  await s.check();
  expect(s.rearms).toHaveLength(2);
  expect(await s.deadline()).toBeNull();
});

it('reports a write Redis refuses (a fault, not an absence) once, and does not try it again', async () => {
  const refusal = new ReplyError('ERR unknown command');
  const s = await stalledSession('s2', () => Promise.reject(refusal));
  await s.check();
  await s.check();
  expect(s.rearms).toEqual([['s2']]);
  expect(s.errors).toEqual([refusal]);
});
