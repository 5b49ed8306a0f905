/**
 * The fairness turn on BullMQ (`src/scale/fair-turn.ts`), at the queue port on real Redis: BullMQ
 * alone leases strictly by priority, so a low-priority session waits behind every higher one that
 * keeps arriving; the turn moves the longest-waiting ahead after `fairnessEvery` leases that were
 * not it. The order of arrival within one millisecond, a hand-back, and an index entry whose job is
 * gone are each checked, since each could take the turn from the session that is owed it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Held, Lease } from '../../src/runtime/ports.js';
import type { BullSessionQueue } from '../../src/scale/bull-queue.js';
import { bullQueueOf } from '../support/bull-queue.js';
import { queuedSession } from '../support/queued-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const session = (id: string, priority: number, createdAt = 1_000) =>
  queuedSession(id, 'p', priority, createdAt);

const queueOf = (fairnessEvery: number) =>
  bullQueueOf(server.url, { perProvider: { p: 1 }, maxConcurrent: 1, fairnessEvery });

/** Leases `count` sessions one at a time, each held `holdMs`; `onLease` may hand one back. */
async function leaseAll(
  queue: BullSessionQueue,
  count: number,
  onLease: (lease: Lease, order: string[]) => Promise<Held | undefined> = async () => undefined,
): Promise<string[]> {
  const order: string[] = [];
  await new Promise<void>((done) => {
    queue.lease(async (lease) => {
      order.push(lease.session.input.sessionId);
      await new Promise((r) => setTimeout(r, 15));
      const held = await onLease(lease, order);
      if (order.length === count) setTimeout(done, 50);
      return held;
    });
  });
  return order;
}

it('leases the longest-waiting session after fairnessEvery leases that were not it, in arrival order within a millisecond', async () => {
  const { queue, errors, close } = await queueOf(2);
  // All in one millisecond (same createdAt): `low` came first.
  await queue.add(session('low', 1));
  for (let i = 1; i <= 6; i++) await queue.add(session(`high-${i}`, 8));
  const order = await leaseAll(queue, 7);
  expect(order).toEqual(['high-1', 'high-2', 'low', 'high-3', 'high-4', 'high-5', 'high-6']);
  expect(errors).toEqual([]);
  await close();
});

it('moves nobody while each lease is the longest-waiting (one priority: FIFO as BullMQ has it)', async () => {
  const { queue, redis, prefix, close } = await queueOf(2);
  for (let i = 1; i <= 5; i++) await queue.add(session(`s-${i}`, 5, 1_000 + i));
  const order = await leaseAll(queue, 5);
  expect(order).toEqual(['s-1', 's-2', 's-3', 's-4', 's-5']);
  expect(await redis.zcard(`${prefix}:arrivals:p`)).toBe(0);
  await close();
});

it('keeps a handed-back session its age, and skips an index entry whose job is gone', async () => {
  const { queue, redis, prefix, close } = await queueOf(2);
  // `gone` is in the index, oldest of all, with no job: it must not take the turn from `low`.
  await redis.zadd(`${prefix}:arrivals:p`, 1, 'gone');
  await queue.add(session('low', 1, 1_000));
  for (let i = 1; i <= 4; i++) await queue.add(session(`high-${i}`, 8, 2_000 + i));
  let handedBack = false;
  let scoreAfterHandBack: string | null = null;
  const order = await leaseAll(queue, 6, async (lease) => {
    // `low` is handed back once (an instance shutting down): it waits again with the age it had,
    // and (moved ahead already) is the next lease.
    if (lease.session.input.sessionId === 'low' && !handedBack) {
      handedBack = true;
      await lease.handBack();
      scoreAfterHandBack = await redis.zscore(`${prefix}:arrivals:p`, 'low');
    }
    return undefined;
  });
  expect(order).toEqual(['high-1', 'high-2', 'low', 'low', 'high-3', 'high-4']);
  expect(Math.floor(Number(scoreAfterHandBack))).toBe(1_000);
  expect(await redis.zscore(`${prefix}:arrivals:p`, 'gone')).toBeNull();
  await close();
});

it('keeps a session held back by its model its age while it waits as delayed', async () => {
  // No turn comes within this test (fairnessEvery 100): only the index's bookkeeping is checked.
  const { queue, redis, prefix, close } = await queueOf(100);
  await queue.add(session('low', 1, 1_000));
  for (let i = 1; i <= 3; i++) await queue.add(session(`high-${i}`, 8, 2_000 + i));
  let held = false;
  let scoreWhileHeld: string | null = null;
  const order = await leaseAll(queue, 5, async (lease) => {
    const id = lease.session.input.sessionId;
    if (id === 'high-1' && !held) {
      held = true;
      return { retryInMs: 40, modelOnly: true };
    }
    if (held && scoreWhileHeld === null)
      scoreWhileHeld = await redis.zscore(`${prefix}:arrivals:p`, 'high-1');
    return undefined;
  });
  expect(order.slice(0, 2)).toEqual(['high-1', 'high-2']);
  expect(order.filter((id) => id === 'high-1')).toHaveLength(2);
  expect(Math.floor(Number(scoreWhileHeld))).toBe(2_001);
  await close();
});
