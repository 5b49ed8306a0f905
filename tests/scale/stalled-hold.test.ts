/**
 * The stalled checks' guard (`stalled-check.ts`) against a real redis-server, one call at a time,
 * the gap since the last call set by hand in its record: which gaps hold the checks, for how long,
 * and that the instance is told of each new hold. Since 2026-12-05 a gap of more than half a lock's
 * life holds them for one lock's life (a freeze that short can already lapse a lock renewed just
 * before it: `short-freeze-relock.test.ts`); a longer hold still on is not cut short.
 */
import type { Queue } from 'bullmq';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StalledChecks, stalledHoldMs } from '../../src/scale/stalled-check.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { handChecks } from './fixtures/hand-checks.js';

const LOCK_MS = 1_500;
let server: RedisServer;
let redis: Redis;
let queue: Queue;
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

const hand = handChecks();

async function guard(active: boolean) {
  const prefix = `hold${++prefixSeq}`;
  await queue?.close();
  queue = new BullQueue('p', { connection: { url: server.url }, prefix });
  if (active) await redis.lpush(queue.toKey('active'), 'job-1');
  const holds: string[] = [];
  const errors: unknown[] = [];
  const checks = new StalledChecks(
    redis,
    hand.clock,
    { lockDurationMs: LOCK_MS, stalledIntervalMs: 500, maxStalledCount: 1000 },
    (error) => errors.push(error),
    (held) => holds.push(held.name),
    () => Promise.resolve(),
  );
  const call = () => hand.once(checks, queue);
  /** Sets the record of the last call `gapMs` before Redis's now. */
  const lastCallAgo = async (gapMs: number) => {
    const [seconds, micros] = await redis.time();
    const last = (await redis.get(queue.toKey('stalled-last'))) as string;
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await redis.set(queue.toKey('stalled-last'), `${now - gapMs} ${last.split(' ')[1]}`, 'PX', 60_000);
  };
  const hold = async () => ({
    start: await redis.get(queue.toKey('stalled-hold')),
    ms: await redis.pttl(queue.toKey('stalled-hold')),
  });
  await call(); // the first call: no record yet, a hold if a job is active
  await redis.del(queue.toKey('stalled-hold'));
  holds.length = 0;
  return { call, lastCallAgo, hold, holds, errors };
}

it('a gap of more than half a lock’s life, with a job active, holds the checks for a lock’s life, and tells the instance', async () => {
  const g = await guard(true);
  await g.lastCallAgo(LOCK_MS / 2 - 150);
  await g.call();
  expect((await g.hold()).start).toBeNull();
  expect(g.holds).toEqual([]);

  await g.lastCallAgo(LOCK_MS / 2 + 150);
  await g.call();
  const held = await g.hold();
  expect(held.start).not.toBeNull();
  expect(held.ms).toBeGreaterThan(LOCK_MS - 300);
  expect(held.ms).toBeLessThanOrEqual(LOCK_MS);
  expect(g.holds).toEqual(['p']);
  expect(g.errors).toEqual([]);
});

it('a gap of more than a lock’s life holds them for twice a lock’s life and a reconnect’s longest back-off', async () => {
  const g = await guard(true);
  await g.lastCallAgo(LOCK_MS + 150);
  await g.call();
  expect((await g.hold()).ms).toBeGreaterThan(stalledHoldMs(LOCK_MS) - 300);
  expect(g.holds).toEqual(['p']);
});

it('a gap of more than half a lock’s life during a longer hold: a new hold, told again, that ends no sooner', async () => {
  const g = await guard(true);
  await g.lastCallAgo(LOCK_MS + 150);
  await g.call();
  const first = await g.hold();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await g.lastCallAgo(LOCK_MS / 2 + 150);
  await g.call();
  const second = await g.hold();
  expect(second.start).not.toBe(first.start);
  expect(second.ms).toBeGreaterThan(stalledHoldMs(LOCK_MS) - 600);
  expect(g.holds).toEqual(['p', 'p']);
});

it('no job active: no gap holds the checks', async () => {
  const g = await guard(false);
  await g.lastCallAgo(LOCK_MS + 150);
  await g.call();
  expect((await g.hold()).start).toBeNull();
  expect(g.holds).toEqual([]);
});
