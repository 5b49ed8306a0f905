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

const backends: [string, () => Promise<RuntimeBackend>][] = [
  ['memory-cluster', async () => memoryClusterBackend({ hub: new MemoryClusterHub() })],
  ['redis', async () => redisBackend({ url: redis.url, prefix: `mc${++prefixSeq}` })],
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

describe.each(backends)('a 429 for one model (%s)', (_name, backend) => {
  async function rig(cooldownScope: 'model' | 'provider') {
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      backend: await backend(),
      defaults: { maxAttempts: 1, timeoutMs: 20_000, queueTimeoutMs: 20_000 },
      limits: { providers: { p: { cooldownScope } } },
    });
    await (runtime as { ready?: Promise<void> }).ready;
    // The first call of m1 answers 429 with its hint (2 s): m1 cools down.
    const first = runtime.submit(ask('m1', 'first'));
    await calls(provider, 1);
    provider.calls[0]?.settle('rateLimited', 2000);
    const failed = await first.result;
    expect(failed.ok || failed.error.code).toBe('RATE_LIMITED');
    return { provider, runtime };
  }

  it('holds only that model: another model of the provider starts at once', async () => {
    const { provider, runtime } = await rig('model');
    const held = runtime.submit(ask('m1', 'held'));
    const other = runtime.submit(ask('m2', 'other'));
    await calls(provider, 2);
    expect(provider.calls[1]?.request.model).toBe('m2');
    provider.calls[1]?.settle('ok');
    expect((await other.result).ok).toBe(true);
    // It says what holds it: its model's cooldown (the provider's queue is not held).
    expect(runtime.session(held.id)).toMatchObject({ state: 'queued', waitingFor: 'cooldown' });
    // m1's session still waits for its cooldown, then goes as its probe.
    expect(provider.calls).toHaveLength(2);
    await calls(provider, 3);
    expect(provider.calls[2]?.request.model).toBe('m1');
    provider.calls[2]?.settle('ok');
    expect((await held.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it("with the provider's scope, the other model waits for the cooldown too", async () => {
    const { provider, runtime } = await rig('provider');
    const other = runtime.submit(ask('m2', 'other'));
    await new Promise((r) => setTimeout(r, 300));
    expect(provider.calls).toHaveLength(1);
    await calls(provider, 2);
    provider.calls[1]?.settle('ok');
    expect((await other.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
