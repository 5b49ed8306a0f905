/**
 * A call its own gate refuses (an open circuit breaker) never leaves troupe, on a real Redis and
 * on the in-memory hub: its charge in the shared limits is given back whole, and as the cooldown's
 * probe it is not the probe's answer (docs/runtime.md, "Limits"). Until 2026-12-06 the limits
 * heard the refusal as any error: its request stayed charged in the shared window (red: no request
 * left of two, expected one; the call after the breaker's pause held for the minute), and as the
 * probe it opened the provider (red: `open`, expected `probing`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import { Limiter } from '../../src/runtime/limits.js';
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

/** The shared state the runtime was given, for a limiter that reads it as another instance would. */
const seen = { state: undefined as SharedState | undefined };
function kept(ports: ClusterPorts): ClusterPorts {
  seen.state = ports.state;
  return ports;
}

const backends = wrappedBackends('uc', () => redis.url, kept);

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }] };

/** `openMs`: how long the breaker stays open once a 503 opened it. */
async function setup(backend: () => Promise<RuntimeBackend>, limits: Record<string, number>, openMs: number) {
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [provider],
    backend: await backend(),
    defaults: { maxAttempts: 1, timeoutMs: 20_000 },
    limits: { providers: { p: limits } },
    breakers: { failures: 1, windowMs: 10_000, openMs },
  });
  await (runtime as { ready?: Promise<void> }).ready;
  const limiter = new Limiter(new Map([['p', limits]]), seen.state as SharedState);
  const budget = async () => (await limiter.budgets(['p'], Date.now())).p;
  return { provider, runtime, budget };
}

describe.each(backends)('a call its breaker refuses (%s)', (_name, backend) => {
  it('is not charged in the shared window: the call after the breaker’s pause goes at once', async () => {
    const { provider, runtime, budget } = await setup(backend, { requestsPerMinute: 2 }, 3000);
    const first = runtime.submit(ask);
    await until(
      async () => provider.calls.length,
      (n) => n >= 1,
      'the first call',
    );
    provider.calls[0]?.settle('retryable'); // a 503: the breaker opens for 3 s
    expect((await first.result).ok).toBe(false);
    const refused = await runtime.submit(ask).result;
    expect(refused.ok || refused.error.code).toBe('PROVIDER_UNAVAILABLE');
    await until(
      async () => (await budget())?.remaining.requestsPerMinute,
      (left) => left === 1,
      'the refused call’s request given back',
      3000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3100));
    runtime.submit(ask);
    await until(
      async () => provider.calls.length,
      (n) => n >= 2,
      'the call after the breaker’s pause',
      5000,
    );
    provider.calls[1]?.settle('ok');
    expect(provider.calls).toHaveLength(2);
    await runtime.shutdown({ deadlineMs: 0 });
  }, 20_000);

  it('is not the cooldown’s probe’s answer: the provider stays probing', async () => {
    const { provider, runtime, budget } = await setup(backend, { requestsPerMinute: 100 }, 10_000);
    const a = runtime.submit(ask);
    const b = runtime.submit(ask);
    await until(
      async () => provider.calls.length,
      (n) => n >= 2,
      'both calls',
    );
    provider.calls[0]?.settle('retryable'); // the breaker opens for 10 s
    await a.result;
    provider.calls[1]?.settle('rateLimited', 100); // the cooldown, for 100 ms
    await b.result;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await budget())?.cooldown).toBe('probing');
    const refused = await runtime.submit(ask).result;
    expect(refused.ok || refused.error.code).toBe('PROVIDER_UNAVAILABLE');
    // Its give-back (or, on the old code, its settle as an answer) lands.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(provider.calls).toHaveLength(2);
    expect((await budget())?.cooldown).toBe('probing');
    await runtime.shutdown({ deadlineMs: 0 });
  }, 20_000);
});
