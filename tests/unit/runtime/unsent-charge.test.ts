/**
 * A call its own gate refuses (an open circuit breaker, a budget spent since its submission) never
 * leaves troupe: its charge is given back whole, and it is not the cooldown's probe's answer
 * (docs/runtime.md, "Limits"). In memory and over a shared state (`sharedState`), on a simulated
 * clock. Until 2026-12-06 the limits heard the refusal as any error: its request stayed charged
 * (red: no request left of two, expected one, and the next call held for the minute), and as the
 * probe it opened the provider's cooldown (red: `open`, expected `probing`).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, type Limits, MemorySharedState, type Runtime } from '../../../src/index.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { stepClock } from '../../support/clock-steps.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

const pass = (clock: SimulatedClock, ms: number, step = 100) => stepClock(clock, ms, step);

const BREAKERS = { failures: 1, windowMs: 10_000, openMs: 1000 };

function setup(shared: boolean, limits: Limits) {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'p', model: 'm', maxAttempts: 1 },
    random: () => 0.99,
    limits,
    breakers: BREAKERS,
    clock,
    ...(shared ? { sharedState: new MemorySharedState(clock) } : {}),
  });
  return { clock, provider, runtime };
}

const left = (runtime: Runtime) => runtime.status().limits?.p;

describe.each([
  ['in memory', false],
  ['over a shared state', true],
])('a call its breaker refuses (%s)', (_name, shared) => {
  it('is not charged: its request goes back, and the call after the breaker’s pause goes at once', async () => {
    const { clock, provider, runtime } = setup(shared, { providers: { p: { requestsPerMinute: 2 } } });
    const first = runtime.submit(ask);
    await pass(clock, 0);
    provider.pending()[0]?.settle('retryable'); // a 503: the breaker opens
    expect((await first.result).ok).toBe(false);
    const refused = runtime.submit(ask);
    const result = await refused.result;
    expect(result.ok || result.error.code).toBe('PROVIDER_UNAVAILABLE');
    await pass(clock, 0);
    expect(provider.calls).toHaveLength(1);
    expect(left(runtime)?.remaining.requestsPerMinute).toBe(1);
    // The breaker lets one probe call go after its pause: the window has room for it.
    await pass(clock, 1000);
    runtime.submit(ask);
    await pass(clock, 100);
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    await pass(clock, 100);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('is not the cooldown’s probe’s answer: the cooldown keeps its probe’s turn for a call that goes', async () => {
    const { clock, provider, runtime } = setup(shared, { providers: { p: { requestsPerMinute: 100 } } });
    const a = runtime.submit(ask);
    const b = runtime.submit(ask);
    await pass(clock, 0);
    const [callA, callB] = provider.pending();
    callA?.settle('retryable'); // the breaker opens for 1 s
    callB?.settle('rateLimited', 100); // the cooldown, for 100 ms
    await Promise.all([a.result, b.result]);
    await pass(clock, 200);
    expect(left(runtime)?.cooldown).toBe('probing');
    // Its probe's turn: refused by the breaker, it sent nothing.
    const refused = runtime.submit(ask);
    const result = await refused.result;
    expect(result.ok || result.error.code).toBe('PROVIDER_UNAVAILABLE');
    await pass(clock, 0);
    expect(provider.calls).toHaveLength(2);
    expect(left(runtime)?.cooldown).toBe('probing');
    // Past the breaker's pause, the next session probes both at once: its call goes.
    await pass(clock, 1000);
    runtime.submit(ask);
    await pass(clock, 100);
    expect(provider.calls).toHaveLength(3);
    provider.pending()[0]?.settle('ok');
    await pass(clock, 100);
    expect(left(runtime)?.cooldown).toBe('open');
    await runtime.shutdown({ deadlineMs: 0 });
  });
});

describe('a call its budget refuses (spent since its submission)', () => {
  it('is not charged: its request goes back', async () => {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm', maxAttempts: 1 },
      limits: { providers: { p: { requestsPerMinute: 2 } } },
      budgets: { global: 0.001 },
      prices: { p: { m: { input: 0, output: 10, currency: 'USD' } } },
      clock,
    });
    // Both submitted with the budget whole; the first call's reservation spends it.
    const first = runtime.submit({ ...ask, max_tokens: 1000 });
    const second = runtime.submit({ ...ask, max_tokens: 1000 });
    const result = await second.result;
    expect(result.ok || result.error.code).toBe('BUDGET_EXCEEDED');
    await pass(clock, 0);
    expect(provider.calls).toHaveLength(1);
    expect(left(runtime)?.remaining.requestsPerMinute).toBe(1);
    provider.pending()[0]?.settle('ok');
    expect((await first.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
