/**
 * Which provider's Worker fetches first when an instance at `maxConcurrent` has room again
 * (`src/scale/first-fetch.ts`), on real Redis: the script that reads every provider queue's head
 * as BullMQ would fetch it, and the queue port's resume around it (the chosen Worker first, the
 * others once it has leased, or after the grace when it cannot).
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { systemClock } from '../../src/core/clock.js';
import type { Lease } from '../../src/runtime/ports.js';
import { BullSessionQueue } from '../../src/scale/bull-queue.js';
import { FIRST_FETCH_GRACE_MS, firstToFetch } from '../../src/scale/first-fetch.js';
import { RedisKeys } from '../../src/scale/redis-store.js';
import { queuedSession } from '../support/queued-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { until } from '../support/until.js';

let server: RedisServer;
let seq = 0;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await server?.stop();
});

const session = queuedSession;

/** A queue port for providers p and q on a fresh prefix (not leasing until `lease`). */
async function ports(clock: Clock = systemClock, make = BullSessionQueue) {
  const prefix = `ff${++seq}`;
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const queue = new make(
    ['p', 'q'],
    { perProvider: {}, maxConcurrent: 8, fairnessEvery: 100 },
    { url: server.url, prefix, lockDurationMs: 5_000, stalledIntervalMs: 5_000 },
    redis,
    new RedisKeys(prefix),
    () => {},
    clock,
  );
  await queue.apply();
  closers.push(
    () => redis.quit(),
    () => queue.close(),
  );
  // BullMQ's own key names, written out: the script must read the keys BullMQ writes.
  const heads = ['p', 'q'].flatMap((name) => [
    ...['wait', 'prioritized', 'meta', 'active', 'limiter'].map((type) => `${prefix}:${name}:${type}`),
    `${prefix}:arrivals:${name}`,
  ]);
  const first = async () => ['p', 'q'][await firstToFetch(redis, heads)] ?? 'none';
  return { prefix, redis, queue, first };
}

describe('the head one process would run next, across provider queues', () => {
  it('is the highest priority of any queue, and between equal priorities the longest waiting', async () => {
    const { queue, first } = await ports();
    expect(await first()).toBe('none');
    await queue.add(session('p5', 'p', 5, 1_000));
    await queue.add(session('q8', 'q', 8, 2_000));
    expect(await first()).toBe('q');
    const other = await ports();
    await other.queue.add(session('p7-late', 'p', 7, 3_000));
    await other.queue.add(session('q7-early', 'q', 7, 1_000));
    expect(await other.first()).toBe('q');
  });

  it('puts a wait-list job (a moved hop, the fairness turn) before any prioritized one', async () => {
    const { prefix, queue, first } = await ports();
    await queue.add(session('p9', 'p', 9, 1_000));
    const raw = new Queue('q', { connection: { url: server.url }, prefix });
    closers.push(() => raw.close());
    await raw.add('hop', session('q-hop', 'q', 0, 5_000), { jobId: 'q-hop' });
    expect(await first()).toBe('q');
  });

  it('passes over a queue at its global concurrency or rate limited', async () => {
    const { prefix, redis, queue, first } = await ports();
    await queue.add(session('p9', 'p', 9, 1_000));
    await queue.add(session('q1', 'q', 1, 2_000));
    expect(await first()).toBe('p');
    // p at its cluster-wide limit (`limits.perProvider`): one running, a limit of one.
    await redis.hset(`${prefix}:p:meta`, 'concurrency', '1');
    await redis.lpush(`${prefix}:p:active`, 'elsewhere');
    expect(await first()).toBe('q');
    await redis.del(`${prefix}:p:active`);
    expect(await first()).toBe('p');
    // p answered "full" (`Queue.rateLimit`): its limiter key holds it for a while.
    await redis.set(`${prefix}:p:limiter`, '9999', 'PX', 60_000);
    expect(await first()).toBe('q');
  });
});

/** A clock whose timers run only when the test says so. */
function heldClock() {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      timers.set(++next, { fn: fn as () => void, ms });
      return next;
    },
    clearTimeout: (id) => {
      timers.delete(id as number);
    },
  };
  const fire = () => {
    const due = [...timers.values()];
    timers.clear();
    for (const t of due) t.fn();
    return due.map((t) => t.ms);
  };
  // The grace timers: the stalled checks' own (`stalled-check.ts`, every 1250 ms here) are not counted.
  const pending = () => [...timers.values()].map((t) => t.ms).filter((ms) => ms === FIRST_FETCH_GRACE_MS);
  return { clock, fire, pending };
}

/** Leases to a run that ends at once, records the session ids, and pauses (as at the bound). */
async function pausedLeasing(queue: BullSessionQueue): Promise<string[]> {
  const leased: string[] = [];
  queue.lease(async (lease: Lease) => {
    leased.push(lease.session.input.sessionId);
    return undefined;
  });
  queue.pauseLeasing();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return leased;
}

describe('resuming after a pause', () => {
  it('resumes the chosen Worker first and the others as soon as it has leased', async () => {
    const { clock, pending } = heldClock();
    const { queue } = await ports(clock);
    const leased: string[] = [];
    const hold: Promise<void>[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    queue.lease(async (lease: Lease) => {
      leased.push(lease.session.input.sessionId);
      hold.push(held);
      await held;
      return undefined;
    });
    queue.pauseLeasing();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await queue.add(session('q1', 'q', 1, 1_000));
    await queue.add(session('p9', 'p', 9, 2_000));
    queue.resumeLeasing();
    await until(
      async () => leased.length,
      (n) => n === 2,
      'both sessions leased',
    );
    // p first, then q, without the grace's timer: it was cleared when p's lease came.
    expect(leased).toEqual(['p9', 'q1']);
    expect(pending()).toEqual([]);
    release();
  });

  it('resumes the others after the grace when the chosen Worker leases nothing', async () => {
    const { clock, fire, pending } = heldClock();
    // Chooses p, whose queue is empty: as if another instance took p's head meanwhile.
    class ChoosesP extends BullSessionQueue {
      protected override chooseFirst(): Promise<number> {
        return Promise.resolve(0);
      }
    }
    const { queue } = await ports(clock, ChoosesP);
    const leased = await pausedLeasing(queue);
    await queue.add(session('q1', 'q', 1, 1_000));
    queue.resumeLeasing();
    await until(
      async () => pending().length,
      (n) => n === 1,
      'the grace timer armed',
    );
    expect(pending()).toEqual([FIRST_FETCH_GRACE_MS]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leased).toEqual([]);
    fire();
    await until(
      async () => leased.length,
      (n) => n === 1,
      'q1 leased after the grace',
    );
    expect(leased).toEqual(['q1']);
  });

  it('keeps every Worker paused when a pause comes before the choice is made', async () => {
    const { clock, pending } = heldClock();
    const { queue } = await ports(clock);
    const leased = await pausedLeasing(queue);
    await queue.add(session('p9', 'p', 9, 1_000));
    queue.resumeLeasing();
    queue.pauseLeasing();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leased).toEqual([]);
    expect(pending()).toEqual([]);
  });

  it('wakes no Worker when leasing stops before the choice is made', async () => {
    const { clock, pending } = heldClock();
    const { queue } = await ports(clock);
    const leased = await pausedLeasing(queue);
    await queue.add(session('p9', 'p', 9, 1_000));
    queue.resumeLeasing();
    await queue.stopLeasing();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leased).toEqual([]);
    expect(pending()).toEqual([]);
  });
});
