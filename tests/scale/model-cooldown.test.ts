/**
 * A cooldown per model on a cluster (`cooldownScope: 'model'`, GLM's default): a 429 for one
 * model holds that model's queued sessions only; the provider's other models start at once, on
 * the in-memory hub and on a real Redis (one delayed job, not the provider's queue paused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { until } from '../support/until.js';

let redis: RedisServer;
let prefixSeq = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A backend, and another instance of the same cluster that runs nothing (a front). */
type Backends = () => Promise<{ backend: RuntimeBackend; front: RuntimeBackend }>;
const backends: [string, Backends][] = [
  [
    'memory-cluster',
    async () => {
      const hub = new MemoryClusterHub();
      return { backend: memoryClusterBackend({ hub }), front: memoryClusterBackend({ hub, work: false }) };
    },
  ],
  [
    'redis',
    async () => {
      const prefix = `mc${++prefixSeq}`;
      const [backend, front] = await Promise.all([
        redisBackend({ url: redis.url, prefix }),
        redisBackend({ url: redis.url, prefix, work: false }),
      ]);
      return { backend, front };
    },
  ],
];

/** Waits until the provider has had `n` calls. */
const calls = (provider: ScriptedProvider, n: number) =>
  until(
    async () => provider.calls.length,
    (count) => count >= n,
    `${n} calls`,
  );

const ask = (model: string, text: string) => ({
  model,
  messages: [{ role: 'user' as const, content: text }],
});

describe.each(backends)('a 429 for one model (%s)', (_name, backends) => {
  async function rig(cooldownScope: 'model' | 'provider', maxConcurrent?: number) {
    const provider = new ScriptedProvider('p');
    const { backend, front: frontBackend } = await backends();
    const start = (instance: RuntimeBackend) =>
      createRuntime({
        providers: [provider],
        backend: instance,
        defaults: { maxAttempts: 1, timeoutMs: 20_000, queueTimeoutMs: 20_000 },
        limits: { providers: { p: { cooldownScope, maxConcurrent } } },
      });
    const runtime = start(backend);
    const front = start(frontBackend);
    await Promise.all([runtime, front].map((r) => (r as { ready?: Promise<void> }).ready));
    // The first call of m1 answers 429 with its hint (2 s): m1 cools down.
    const first = runtime.submit(ask('m1', 'first'));
    await calls(provider, 1);
    provider.calls[0]?.settle('rateLimited', 2000);
    const failed = await first.result;
    expect(failed.ok || failed.error.code).toBe('RATE_LIMITED');
    // The cooldown is in the shared state before the session's end is told (what follows is
    // submitted at once: none of it may meet the model open; `cooldown-before-end.test.ts`).
    expect(runtime.metrics().limits?.cooldowns).toBe(1);
    return { provider, runtime, front };
  }

  it('holds only that model: another model of the provider starts at once', async () => {
    const { provider, runtime, front } = await rig('model');
    const held = runtime.submit(ask('m1', 'held'));
    const other = runtime.submit(ask('m2', 'other'));
    await calls(provider, 2);
    expect(provider.calls[1]?.request.model).toBe('m2');
    provider.calls[1]?.settle('ok');
    expect((await other.result).ok).toBe(true);
    // It says what holds it: its model's cooldown (the provider's queue is not held).
    expect(runtime.session(held.id)).toMatchObject({ state: 'queued', waitingFor: 'cooldown' });
    // So does an instance that leased nothing, from the shared state (read once a second).
    await expect.poll(() => front.session(held.id)?.waitingFor, { timeout: 1800 }).toBe('cooldown');
    expect(front.status().limits?.p?.models?.m1).toBeGreaterThan(Date.now());
    // m1's session still waits for its cooldown, then goes as its probe.
    expect(provider.calls).toHaveLength(2);
    await calls(provider, 3);
    expect(provider.calls[2]?.request.model).toBe('m1');
    provider.calls[2]?.settle('ok');
    expect((await held.result).ok).toBe(true);
    await Promise.all([runtime, front].map((r) => r.shutdown({ deadlineMs: 0 })));
  });

  it('another instance shows the cooldown on that model’s sessions only', async () => {
    const { provider, runtime, front } = await rig('model', 1);
    // m2 runs and takes the provider's one slot; m3 waits for the slot, m1 for its cooldown.
    const running = front.submit(ask('m2', 'running'));
    await calls(provider, 2);
    expect(provider.calls[1]?.request.model).toBe('m2');
    const slot = front.submit(ask('m3', 'slot'));
    const cooling = front.submit(ask('m1', 'cooling'));
    await expect.poll(() => front.session(cooling.id)?.waitingFor, { timeout: 1800 }).toBe('cooldown');
    expect(front.session(slot.id)).toMatchObject({ state: 'queued' });
    expect(front.session(slot.id)?.waitingFor).not.toBe('cooldown');
    provider.calls[1]?.settle('ok');
    await calls(provider, 3);
    provider.calls[2]?.settle('ok');
    await calls(provider, 4);
    provider.calls[3]?.settle('ok');
    const results = await Promise.all([running, slot, cooling].map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    await Promise.all([runtime, front].map((r) => r.shutdown({ deadlineMs: 0 })));
  });

  it("with the provider's scope, the other model waits for the cooldown too", async () => {
    const { provider, runtime, front } = await rig('provider');
    const other = runtime.submit(ask('m2', 'other'));
    await new Promise((r) => setTimeout(r, 300));
    expect(provider.calls).toHaveLength(1);
    await calls(provider, 2);
    provider.calls[1]?.settle('ok');
    expect((await other.result).ok).toBe(true);
    await Promise.all([runtime, front].map((r) => r.shutdown({ deadlineMs: 0 })));
  });
});
