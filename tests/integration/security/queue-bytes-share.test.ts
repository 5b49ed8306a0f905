/**
 * One caller cannot fill the queue's bytes (`limits.maxQueuedBytes`) and shut the others out: its
 * waiting requests hold at most its share of them, the same fraction as its share of the sessions
 * (`maxQueuedPerCaller` of `maxQueued`). Before, only the count had a share: one token's large
 * waiting calls (64 of 4 MiB with `troupe serve`'s defaults) got every other caller's call refused
 * with `QUEUE_FULL`, even a small one to an idle provider (found by an audit). The same admission
 * on one instance and on a cluster's instance (in-memory ports).
 */
import { afterEach, expect, it } from 'vitest';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createSimulatedProvider } from '../../../src/testing/index.js';
import { IN_MEMORY_BACKENDS } from '../../support/in-memory-backends.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.allSettled(runtimes.splice(0).map((r) => r.shutdown({ deadlineMs: 50 })));
});

it.each(IN_MEMORY_BACKENDS)(
  'holds a caller to its share of the queued bytes, and another caller’s call still waits (%s)',
  async (_, backend) => {
    const runtime = createRuntime({
      providers: [
        createSimulatedProvider({ name: 'slow', latencyMs: { min: 5000, max: 5000 } }),
        createSimulatedProvider({ name: 'idle', latencyMs: { min: 5000, max: 5000 } }),
      ],
      defaults: { model: 'sim-fast' },
      // A quarter of the sessions each, so a quarter of the 400,000 bytes: 100,000.
      limits: {
        perProvider: { slow: 1, idle: 1 },
        maxQueued: 100,
        maxQueuedPerCaller: 25,
        maxQueuedBytes: 400_000,
      },
      ...backend(),
    });
    runtimes.push(runtime);
    await runtime.ready;
    expect(runtime.status({ recent: 0 }).maxQueuedBytesPerCaller).toBe(100_000);
    const ask = (provider: string, owner: string, size: number) =>
      runtime.submit(
        { provider, messages: [{ role: 'user', content: 'x'.repeat(size) }] },
        { metadata: { owner } },
      );
    const queued = async (n: number) =>
      expect.poll(() => runtime.status({ recent: 0 }).queued, { timeout: 3000 }).toBe(n);

    ask('slow', 'token:alice', 40_000); // runs
    await expect.poll(() => runtime.status({ recent: 0 }).running, { timeout: 3000 }).toBe(1);
    ask('slow', 'token:alice', 40_000);
    ask('slow', 'token:alice', 40_000);
    await queued(2);
    // A third of Alice's would hold 120,000 bytes of hers waiting: refused, naming her share.
    expect(() => ask('slow', 'token:alice', 40_000)).toThrow(
      expect.objectContaining({
        code: 'QUEUE_FULL',
        message: expect.stringContaining(
          "Expected at most 100000 bytes of one caller's requests waiting (its share of limits.maxQueuedBytes, as limits.maxQueuedPerCaller is of limits.maxQueued), got 80",
        ),
      }),
    );
    // Bob's calls still wait, to either provider, as large as Alice's were.
    ask('slow', 'token:bob', 40_000);
    ask('idle', 'token:bob', 40_000); // runs
    await expect.poll(() => runtime.status({ recent: 0 }).running, { timeout: 3000 }).toBe(2);
    ask('idle', 'token:bob', 40_000);
    await queued(4);
    // A caller with nothing waiting may send one larger than its share, within the whole bound.
    ask('slow', 'token:carol', 150_000);
    await queued(5);
    expect(runtime.status({ recent: 0 }).queuedBytes).toBeLessThanOrEqual(400_000);
  },
);
