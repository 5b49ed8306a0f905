/**
 * `SessionQueue.wake` on BullMQ (`src/scale/bull-queue.ts`), at the queue port on real Redis: a job
 * put back as delayed behind a provider's probe (`Held.probe`) is promoted when that probe's session
 * ends, not at its delay's end and not for another session's end; and one put back while that end
 * came is promoted at once, once; and a job delayed without a probe (another model's limit) is not
 * promoted by it. The delays here are 5 s (15 s without a probe): a job leased again within 2.5 s was woken.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Held, Lease } from '../../src/runtime/ports.js';
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

const BEHIND_X: Held = { retryInMs: 5_000, modelOnly: true, probe: 'x' };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A queue of provider `p` whose leases `answer` decides, numbered from 1; the times of each lease. */
async function queueLeasing(answer: (lease: Lease, n: number, queue: BullSessionQueue) => Held | undefined) {
  const { queue, errors, close } = await bullQueueOf(server.url, {
    perProvider: {},
    maxConcurrent: 4,
    fairnessEvery: 100,
  });
  const leasedAt: number[] = [];
  queue.lease(async (lease) => {
    leasedAt.push(Date.now());
    return answer(lease, leasedAt.length, queue);
  });
  return { queue, errors, leasedAt, close };
}

it("promotes a job delayed behind a probe when that probe's session ends, and not for another session's end", async () => {
  const { queue, errors, leasedAt, close } = await queueLeasing((_lease, n) =>
    n === 1 ? BEHIND_X : undefined,
  );
  try {
    await queue.add(queuedSession('a', 'p', 5));
    await until(
      async () => leasedAt.length,
      (n) => n === 1,
      'the first lease',
    );
    await pause(300);
    queue.wake('p', 'other');
    queue.wake('q', 'x');
    await pause(500);
    expect(leasedAt).toHaveLength(1);
    const woken = Date.now();
    queue.wake('p', 'x');
    await until(
      async () => leasedAt.length,
      (n) => n === 2,
      'the lease after the probe ended',
      4_000,
    );
    expect((leasedAt[1] as number) - woken).toBeLessThan(2_500);
    expect(errors).toEqual([]);
  } finally {
    await close();
  }
});

it("promotes at once a job put back while its probe's end came, once: the next one behind it waits", async () => {
  const { queue, errors, leasedAt, close } = await queueLeasing((_lease, n, q) => {
    // The probe's end is heard while this lease is still being held back behind it.
    if (n === 1) q.wake('p', 'x');
    return n <= 2 ? BEHIND_X : undefined;
  });
  try {
    await queue.add(queuedSession('a', 'p', 5));
    await until(
      async () => leasedAt.length,
      (n) => n === 2,
      'the lease promoted at once',
      4_000,
    );
    expect((leasedAt[1] as number) - (leasedAt[0] as number)).toBeLessThan(2_500);
    // Held behind x again (its end's settle not there yet, say): it waits for its delay this time.
    await pause(1_500);
    expect(leasedAt).toHaveLength(2);
    expect(errors).toEqual([]);
  } finally {
    await close();
  }
});

it("promotes every job behind that probe, and only those: one delayed by another model's limit waits for its delay", async () => {
  const leased: string[] = [];
  const { queue, errors, close } = await queueLeasing((lease, n) => {
    const id = lease.session.input.sessionId;
    leased.push(id);
    // Sessions a and c wait behind probe x; session b behind another model's limit, no probe.
    if (n <= 3) return id === 'b' ? { retryInMs: 15_000, modelOnly: true } : BEHIND_X;
    return undefined;
  });
  try {
    for (const id of ['a', 'b', 'c']) await queue.add(queuedSession(id, 'p', 5));
    await until(
      async () => leased.length,
      (n) => n === 3,
      'the three first leases',
    );
    await pause(300);
    queue.wake('p', 'x');
    await until(
      async () => leased.length,
      (n) => n === 5,
      "the leases of the probe's two jobs",
      4_000,
    );
    expect(leased.slice(3).sort()).toEqual(['a', 'c']);
    // b was not promoted with them: no lease of b until its own delay ends.
    await pause(1_500);
    expect(leased).toHaveLength(5);
    expect(errors).toEqual([]);
  } finally {
    await close();
  }
});
