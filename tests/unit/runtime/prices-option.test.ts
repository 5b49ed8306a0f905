/**
 * `createRuntime({ prices })` checks its table as the providers file's is checked: a price without
 * `currency` is in USD (so USD budgets count it), and a bad table is refused at creation, naming
 * the field. Before, a JavaScript caller's price without `currency` gave `cost.currency` undefined
 * and a USD budget let every call through.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';

const hello = { messages: [{ role: 'user' as const, content: 'Hello' }], max_tokens: 10 };

function runtimeWith(prices: unknown, extra: Partial<RuntimeOptions> = {}) {
  return createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 1, max: 2 } })],
    defaults: { model: 'sim-fast' },
    prices: prices as RuntimeOptions['prices'],
    ...extra,
  });
}

describe('createRuntime({ prices })', () => {
  it('prices a model given without `currency` in USD, and a USD budget counts its calls', async () => {
    // One token costs 1 USD: the first call spends the 1 USD budget, the second is refused.
    const runtime = runtimeWith(
      { simulated: { 'sim-fast': { input: 1_000_000, output: 1_000_000 } } },
      { budgets: { perCaller: { USD: 1 } } },
    );
    const first = await runtime.submit(hello, { metadata: { owner: 'alice' } }).result;
    expect(first.ok).toBe(true);
    expect(first.metadata.cost?.currency).toBe('USD');
    expect(first.metadata.cost?.amount).toBeGreaterThan(1);
    // Admission already knows the budget is spent: `submit` refuses (docs/routing.md#budgets).
    expect(() => runtime.submit(hello, { metadata: { owner: 'alice' } })).toThrow(
      expect.objectContaining({ code: 'BUDGET_EXCEEDED' }),
    );
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('refuses a table with a code that is no currency, or a negative rate, naming the field', () => {
    expect(() =>
      runtimeWith({ simulated: { 'sim-fast': { input: 1, output: 1, currency: 'UDS' } } }),
    ).toThrow(/prices\.simulated\.sim-fast\.currency: Expected an ISO 4217 currency code/);
    expect(() => runtimeWith({ simulated: { 'sim-fast': { input: -1, output: 1 } } })).toThrow(
      /prices\.simulated\.sim-fast\.input: Expected a non-negative number/,
    );
  });

  it('keeps a valid table as given', async () => {
    const runtime = runtimeWith({ simulated: { 'sim-fast': { input: 2, output: 8, currency: 'CNY' } } });
    const result = await runtime.submit(hello).result;
    expect(result.metadata.cost?.currency).toBe('CNY');
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
