/**
 * `LocalLimits.observe` of a call its own gate refused (`unsent` on its `provider.error`, an open
 * breaker or a spent budget): nothing was sent, so its charge is given back whole (its request and
 * tokens in every window, its slot, its probe), in memory synchronously (`Limiter.giveBackNow`) and
 * on a shared limiter (`SharedAsks.giveBack`). Until 2026-12-06 it was settled as an answer: its
 * request and tokens stayed charged, and as the cooldown's probe it opened the provider.
 */
import { describe, expect, it } from 'vitest';
import type { ProviderSnapshot } from '../../../machines/provider.js';
import type { SessionMachineEvent } from '../../../machines/session.js';
import { modelCooldownKey, type ProviderState, providerKey } from '../../../src/runtime/limiter.js';
import { rateLimited, record, settle, setup, T0, TOKENS, unavailable } from './local-limits-fixture.js';

const LAPSE = T0 + 60_000;
/** What a gate's refusal delivers: the breaker's error, marked unsent (`ProviderCall`). */
const refused: SessionMachineEvent = Object.assign(
  {
    type: 'provider.error' as const,
    now: 0,
    random: 0,
    error: {
      family: 'provider' as const,
      code: 'PROVIDER_UNAVAILABLE' as const,
      message: 'open',
      retryable: false,
    },
  },
  { unsent: true as const },
);

describe('LocalLimits: a call its own gate refused', () => {
  it('gives back its request, its tokens and its slot at once, and counts no outcome', () => {
    const { limits } = setup({ p: { requestsPerMinute: 2, tokensPerMinute: 100_000, maxConcurrent: 1 } });
    const a = record('a', { admitted: true });
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(limits.budgets(['p']).p?.remaining).toMatchObject({
      requestsPerMinute: 1,
      tokensPerMinute: 100_000 - TOKENS,
      maxConcurrent: 0,
    });
    expect(limits.observe(a, refused)).toBe(true);
    expect(a.limitStart).toBeNull();
    expect(limits.budgets(['p']).p?.remaining).toMatchObject({
      requestsPerMinute: 2,
      tokensPerMinute: 100_000,
      maxConcurrent: 1,
    });
    expect(limits.counters).toMatchObject({ rateLimited: 0, cooldowns: 0 });
    // Nothing left to give back: the same refusal again is no outcome.
    expect(limits.observe(a, refused)).toBe(false);
    expect(limits.budgets(['p']).p?.remaining.requestsPerMinute).toBe(2);
  });

  it('as the cooldown’s probe, is not its answer: the probe’s turn goes to the next start', () => {
    const { limits, clock } = setup({ p: { requestsPerMinute: 100 } });
    const x = record('x', { admitted: true });
    limits.gate(x, LAPSE);
    limits.observe(x, rateLimited(1000));
    clock.time = T0 + 1000;
    const probe = record('probe', { admitted: true });
    expect(limits.gate(probe, LAPSE)).toBe(true);
    expect(limits.gate(record('y', { admitted: true }), LAPSE)).toBe(false);
    expect(limits.observe(probe, refused)).toBe(true);
    const state = limits.state.readNow<ProviderState>(providerKey('p'));
    expect(state?.c).toMatchObject({ value: 'probing', context: { probe: null } });
    // The next start takes the probe's turn; an answer that came from the provider opens it.
    const next = record('z', { admitted: true });
    expect(limits.gate(next, LAPSE)).toBe(true);
    expect(limits.observe(next, unavailable)).toBe(true);
    expect(limits.budgets(['p']).p?.cooldown).toBe('open');
  });

  it('gives back its model’s windows and its model’s probe; a model that never cooled down gets no state', () => {
    const { limits, clock } = setup({
      p: { cooldownScope: 'model', requestsPerMinute: 10, models: { m: { requestsPerMinute: 2 } } },
    });
    const a = record('a', { admitted: true, model: 'n' });
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(limits.observe(a, refused)).toBe(true);
    expect(limits.state.readNow(modelCooldownKey('p', 'n'))).toBeUndefined();
    expect(limits.budgets(['p']).p?.remaining.requestsPerMinute).toBe(10);
    // Model m cools down; its probe, refused by its gate, leaves the probe's turn free.
    const x = record('x', { admitted: true });
    limits.gate(x, LAPSE);
    limits.observe(x, rateLimited(1000));
    clock.time = T0 + 1000;
    const probe = record('probe', { admitted: true });
    expect(limits.gate(probe, LAPSE)).toBe(true);
    expect(limits.observe(probe, refused)).toBe(true);
    expect(limits.state.readNow<ProviderSnapshot>(modelCooldownKey('p', 'm'))).toMatchObject({
      value: 'probing',
      context: { probe: null },
    });
    // Of model m's two requests, x's alone stays charged (and the provider's).
    expect(limits.gate(record('y', { admitted: true }), LAPSE)).toBe(true);
    // Held by its model alone: its provider's other models go on.
    expect(limits.gate(record('w', { admitted: true }), LAPSE)).toBe('item');
    expect(limits.budgets(['p']).p?.remaining.requestsPerMinute).toBe(8);
  });

  it('on a shared limiter, gives the charge back there', async () => {
    const { limits, sharedLimiter } = setup(
      { p: { requestsPerMinute: 2, tokensPerMinute: 100_000, maxConcurrent: 1 } },
      { shared: true },
    );
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    await settle();
    expect(a.limitStart).not.toBeNull();
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.requestsPerMinute).toBe(1);
    expect(limits.observe(a, refused)).toBe(true);
    expect(a.limitStart).toBeNull();
    await settle();
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining).toMatchObject({
      requestsPerMinute: 2,
      tokensPerMinute: 100_000,
      maxConcurrent: 1,
    });
    expect(limits.counters).toMatchObject({ rateLimited: 0, cooldowns: 0 });
  });

  it('on a shared limiter, as the cooldown’s probe, is not its answer: the probe’s turn goes to the next ask', async () => {
    const { limits, clock, sharedState } = setup({ p: { requestsPerMinute: 100 } }, { shared: true });
    const x = record('x', { admitted: true });
    limits.retry(x, LAPSE);
    await settle();
    limits.observe(x, rateLimited(1000));
    await settle();
    clock.time = T0 + 1000;
    const probe = record('probe', { admitted: true });
    limits.retry(probe, LAPSE);
    await settle();
    const probing = await sharedState?.read<ProviderState>(providerKey('p'));
    expect(probing?.c).toMatchObject({ value: 'probing', context: { probe: 'probe' } });
    expect(limits.observe(probe, refused)).toBe(true);
    await settle();
    const after = await sharedState?.read<ProviderState>(providerKey('p'));
    expect(after?.c).toMatchObject({ value: 'probing', context: { probe: null } });
  });
});
