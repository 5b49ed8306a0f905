/**
 * A job that BullMQ leaves waiting without waking a Worker: two instances' queue adapters
 * (`src/scale/bull-queue.ts`) on one prefix and a real redis-server. A Worker whose last fetch found
 * nothing it could take (the queue empty, or at its global concurrency, `limits.perProvider`) blocks
 * on the queue's marker until a job comes, or until its block timeout (BullMQ's `drainDelay`, 5 s).
 * Two moves left a job waiting with no marker: a lease handed back (`moveToWait` of a prioritized job
 * adds none), and the end of a session on an instance at its bound (its Worker paused, BullMQ
 * completes the job without fetching the next, and adds none). An idle instance then slept up to
 * 5 s beside the waiting job: with two providers and `maxConcurrent` 2 on two instances, 2 to 14 of
 * 20 short sessions with a 4 s queue timeout ended `TIMED_OUT` while both instances had room
 * (an audit, 2026-12-05). Now each of those moves adds the marker when the queue has a job to give.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Lease } from '../../src/runtime/ports.js';
import type { BullSessionQueue } from '../../src/scale/bull-queue.js';
import { bullQueueOf } from '../support/bull-queue.js';
import { queuedSession } from '../support/queued-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { until } from '../support/until.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Well under BullMQ's 5 s block timeout, well over a lease's round trips on a busy machine. */
const PROMPT_MS = 2_500;

/**
 * Two instances of one cluster with provider `p` (its global concurrency `perProvider`): `a` leases
 * with `runA` and `b` records when it leases. Both Workers idle, blocked on the marker, `a`'s first
 * (Redis serves the longest blocked first).
 */
async function twoInstances(
  perProvider: number,
  runA: (lease: Lease, queue: BullSessionQueue) => Promise<void>,
) {
  const limits = { perProvider: { p: perProvider }, maxConcurrent: 4, fairnessEvery: 100 };
  const a = await bullQueueOf(server.url, limits);
  const b = await bullQueueOf(server.url, limits, a.prefix);
  const leasedAtB = new Map<string, number>();
  a.queue.lease(async (lease) => {
    await runA(lease, a.queue);
    return undefined;
  });
  await pause(500);
  b.queue.lease(async (lease) => {
    leasedAtB.set(lease.session.input.sessionId, Date.now());
    return undefined;
  });
  await pause(500);
  return {
    a,
    b,
    leasedAtB,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

it('a lease handed back by an instance at its bound is leased at once by an idle one', async () => {
  let handedBackAt = 0;
  // Instance a is full (its Workers paused) when its blocked fetch brings the job: back it goes.
  const { a, b, leasedAtB, close } = await twoInstances(4, async (lease, queue) => {
    queue.pauseLeasing();
    await lease.handBack();
    handedBackAt = Date.now();
  });
  try {
    await a.queue.add(queuedSession('s', 'p', 5));
    await until(
      async () => leasedAtB.get('s'),
      (at) => at !== undefined,
      'the lease at the idle instance',
      8_000,
    );
    expect(handedBackAt).toBeGreaterThan(0);
    expect((leasedAtB.get('s') as number) - handedBackAt).toBeLessThan(PROMPT_MS);
    expect([...a.errors, ...b.errors]).toEqual([]);
  } finally {
    await close();
  }
});

it('a session’s end on an instance at its bound frees its slot for an idle instance at once', async () => {
  let release = () => {};
  const running = new Promise<void>((resolve) => (release = resolve));
  let endedAt = 0;
  // Instance a reaches its bound with this session and stays there (its other providers' sessions).
  const { a, b, leasedAtB, close } = await twoInstances(1, async (_lease, queue) => {
    queue.pauseLeasing();
    await running;
    endedAt = Date.now();
  });
  try {
    // a leases the first (blocked first); the second finds the queue at its global concurrency at b.
    await a.queue.add(queuedSession('first', 'p', 5));
    await pause(500);
    await a.queue.add(queuedSession('second', 'p', 5));
    await pause(500);
    expect(leasedAtB.size).toBe(0);
    release();
    await until(
      async () => leasedAtB.get('second'),
      (at) => at !== undefined,
      'the lease of the second session at the idle instance',
      8_000,
    );
    expect(leasedAtB.has('first')).toBe(false);
    expect((leasedAtB.get('second') as number) - endedAt).toBeLessThan(PROMPT_MS);
    expect([...a.errors, ...b.errors]).toEqual([]);
  } finally {
    release();
    await close();
  }
});
