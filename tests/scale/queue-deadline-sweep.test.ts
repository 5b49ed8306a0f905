/**
 * On Redis, a queued session whose submitter left is ended at its queue deadline by another
 * instance's sweep (the queue's deadline set, `bull-queue.ts`), as `memory-cluster.test.ts` states
 * for the in-memory cluster: not when a slot frees, and without calling the provider.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionSummary } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

it('ends a queued session at its queue deadline after its submitter left, while the slot stays taken', async () => {
  const prefix = `deadline-${process.pid}-${Date.now()}`;
  const make = async (work: boolean) => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'p', latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
      limits: { perProvider: { p: 1 } },
      backend: await redisBackend({ url: redis.url, prefix, work, sweepIntervalMs: 200 }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    return runtime;
  };
  const front = await make(false);
  const worker = await make(true);
  // The one slot, held for longer than the test looks.
  const busy = front.submit({ messages: [{ role: 'user', content: 'busy' }], extra: { simulate: 'hang' } });
  await expect.poll(() => worker.status().running, { timeout: 5_000 }).toBe(1);
  const waiting = front.submit(
    { messages: [{ role: 'user', content: 'waiting' }] },
    { queueTimeoutMs: 1_000 },
  );
  // The submitter leaves before the deadline; both sessions stay in the cluster.
  await front.shutdown({ deadlineMs: 0 });
  let ended: SessionSummary | undefined;
  await expect
    .poll(
      () => {
        ended = worker.session(waiting.id);
        return ended?.state;
      },
      { timeout: 4_000, interval: 50 },
    )
    .toBe('timedOut');
  expect(ended?.attempts).toBe(0);
  // Within a sweep or so of its deadline (a slow machine's turn allowed), not once the slot frees.
  expect((ended?.endedAt ?? 0) - (ended?.createdAt ?? 0)).toBeLessThan(3_000);
  expect(worker.session(busy.id)?.state).toBe('running');
  worker.cancel(busy.id, 'test over');
  await worker.shutdown({ deadlineMs: 0 });
}, 20_000);
