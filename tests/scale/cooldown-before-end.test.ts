/**
 * A 429's cooldown is in the shared state before its session's end is told: a session submitted
 * once the 429'd session's result is in the caller's hands finds the cooldown, and its call does
 * not go to the vendor (for the vendor's 429 in turn). Forced: the shared state answers the 429's
 * settle late (its first write held back 300 ms, as a slow round trip would), on a real Redis and
 * on the in-memory hub. Until 2026-12 the end was written beside that settle, not after it: the
 * next session was leased, found its model open and called the provider (red on that code, every
 * run, for both scopes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerKey } from '../../src/runtime/limiter.js';
import type { ClusterPorts, SharedState } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedBackends } from '../support/redis-ports.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The shared state's next write of `p`'s state, once `slow.armed` is set, answered 300 ms late. */
const slow = { armed: false, held: 0 };
function slowed(ports: ClusterPorts): ClusterPorts {
  const state: SharedState = {
    read: (key) => ports.state.read(key),
    update: async (key, init, change, ttlMs) => {
      if (slow.armed && key === providerKey('p')) {
        slow.armed = false;
        slow.held++;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      return ports.state.update(key, init, change, ttlMs);
    },
  };
  return { ...ports, state };
}

const backends = wrappedBackends('cbe', () => redis.url, slowed);

const ask = (text: string) => ({ model: 'm1', messages: [{ role: 'user' as const, content: text }] });

describe.each(backends)('a session submitted once a 429’d session ended (%s)', (_name, backend) => {
  it.each(['model', 'provider'] as const)('waits for the cooldown (scope %s)', async (cooldownScope) => {
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      backend: await backend(),
      defaults: { maxAttempts: 1, timeoutMs: 20_000, queueTimeoutMs: 20_000 },
      limits: { providers: { p: { cooldownScope } } },
    });
    await (runtime as { ready?: Promise<void> }).ready;
    const first = runtime.submit(ask('first'));
    await until(
      async () => provider.calls.length,
      (n) => n >= 1,
      'the first call',
    );
    slow.held = 0;
    slow.armed = true;
    provider.calls[0]?.settle('rateLimited', 2000);
    const failed = await first.result;
    expect(failed.ok || failed.error.code).toBe('RATE_LIMITED');
    expect(slow.held).toBe(1);
    // Its end was told after the cooldown was written: it is counted already.
    expect(runtime.metrics().limits?.cooldowns).toBe(1);
    const next = runtime.submit(ask('next'));
    await expect.poll(() => runtime.session(next.id)?.waitingFor, { timeout: 3000 }).toBe('cooldown');
    expect(provider.calls).toHaveLength(1);
    runtime.cancel(next.id);
    expect((await next.result).ok).toBe(false);
    expect(provider.calls).toHaveLength(1);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
