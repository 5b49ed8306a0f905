/**
 * Budgets per currency: each currency has its own budgets, a call is charged only against the
 * budgets of the currency its model is priced in (USD is never added to CNY), a call priced in a
 * currency with no budget is not limited by another's, and a refusal says what was spent, the
 * limit, the currency and when it resets.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import type { ChatRequest } from '../../../src/providers/port.js';
import { Budgets, type Reservation } from '../../../src/runtime/budgets.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import { ManualClock } from '../../support/manual-clock.js';

// 1000 completion tokens cost 0.01 in either currency: one call spends a 0.01 budget.
const PRICES = {
  intl: { m: { input: 0, output: 10, currency: 'USD' } },
  cn: { m: { input: 0, output: 10, currency: 'CNY' } },
};
const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 };
const used = { promptTokens: 10, completionTokens: 1000, totalTokens: 1010 };

function setup(options: ConstructorParameters<typeof Budgets>[0]) {
  const clock = new ManualClock();
  clock.time = Date.parse('2026-12-01T22:00:00Z');
  const budgets = new Budgets(options, PRICES, new MemorySharedState(clock), clock);
  const spend = async (owner: string, provider: string) => {
    const r = await budgets.reserve(owner, provider, request);
    if (r instanceof TroupeError) return r;
    await budgets.settle(r, used);
    return r;
  };
  return { clock, budgets, spend };
}

describe('budgets per currency', () => {
  it('keeps each currency apart: a spent USD budget leaves the CNY one, and the sums never mix', async () => {
    const { budgets, spend } = setup({ perCaller: { USD: 0.01, CNY: 0.02 } });
    expect(await spend('a', 'intl')).not.toBeInstanceOf(TroupeError);
    const refused = await spend('a', 'intl');
    expect(refused).toBeInstanceOf(TroupeError);
    expect((refused as TroupeError).code).toBe('BUDGET_EXCEEDED');
    // The USD budget is spent, yet CNY calls go on until the CNY budget is spent in turn.
    expect(await spend('a', 'cn')).not.toBeInstanceOf(TroupeError);
    expect(await spend('a', 'cn')).not.toBeInstanceOf(TroupeError);
    expect(await spend('a', 'cn')).toBeInstanceOf(TroupeError);
    const today = budgets.spentToday();
    expect(today.USD?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0.01, reserved: 0 });
    expect(today.CNY?.['caller:a']).toEqual({ day: '2026-12-01', spent: 0.02, reserved: 0 });
  });

  it('at admission, refuses only when the budget of the first target’s currency is spent', async () => {
    const { budgets, spend } = setup({ global: { USD: 0.01, CNY: 1 } });
    await spend('a', 'intl');
    expect(() => budgets.precheck('b', 'intl', 'm')).toThrow(/the global budget \(0.01 USD per UTC day\)/);
    expect(() => budgets.precheck('b', 'cn', 'm')).not.toThrow();
  });

  it('does not limit a call priced in a currency that has no budget, by another currency’s budget', async () => {
    const { budgets, spend } = setup({ perCaller: 0.01, global: 0.01 }); // plain numbers: USD
    await spend('a', 'intl');
    expect(await spend('a', 'intl')).toBeInstanceOf(TroupeError);
    for (let i = 0; i < 3; i++) {
      const r = (await spend('a', 'cn')) as Reservation;
      expect(r).not.toBeInstanceOf(TroupeError);
      expect(r.keys).toEqual([]);
      expect(r.currency).toBe('CNY');
    }
    expect(() => budgets.precheck('a', 'cn', 'm')).not.toThrow();
    expect(budgets.spentToday().CNY).toBeUndefined();
    expect(budgets.currencies()).toEqual(['USD']);
  });

  it('reads a plain number in `currency`, and refuses a model with no price at all', async () => {
    const { budgets, spend } = setup({ perCaller: 0.01, currency: 'CNY' });
    await spend('a', 'cn');
    expect(await spend('a', 'cn')).toBeInstanceOf(TroupeError);
    expect(await spend('a', 'intl')).not.toBeInstanceOf(TroupeError);
    const none = await budgets.reserve('a', 'other', request);
    expect((none as TroupeError).code).toBe('INVALID_REQUEST');
    expect((none as TroupeError).message).toContain(
      'Expected a price for `other`/`m` to check the budgets (CNY) against, got none',
    );
  });

  it('checks nothing, priced or not, when no currency has a budget', async () => {
    const { budgets } = setup({ perCaller: {}, global: {} });
    expect(budgets.currencies()).toEqual([]);
    expect(await budgets.reserve('a', 'other', request)).toMatchObject({ keys: [] });
    expect(await budgets.reserve('a', 'intl', request)).toMatchObject({ keys: [] });
  });

  it('says what was spent and reserved, the limit, the currency and when it resets', async () => {
    const { budgets, spend } = setup({ perCaller: { CNY: 0.01 } });
    await spend('token:alice', 'cn');
    const held = (await budgets.reserve('token:bob', 'cn', request)) as Reservation;
    expect(held.amount).toBe(0.01);
    const refused = (await spend('token:alice', 'cn')) as TroupeError;
    expect(refused.message).toBe(
      'Expected the budget of caller `token:alice` (0.01 CNY per UTC day) to have room, got 0.01 CNY spent and 0 CNY reserved by calls in flight; it resets at 2026-12-02T00:00:00.000Z (in 120 min). Wait for the reset, or ask the operator to raise it.',
    );
    expect(refused.retryAfterMs).toBe(2 * 3600_000);
    expect(refused.retryable).toBe(false);
  });

  it('refuses bad amounts and currency codes, naming the field', () => {
    const make = (options: ConstructorParameters<typeof Budgets>[0]) => () => setup(options);
    expect(make({ perCaller: { usd: 1 } })).toThrow(
      'Expected the currencies of `budgets.perCaller` to be ISO 4217 codes such as USD or CNY, got `"usd"` (string)',
    );
    expect(make({ global: { CNY: -1 } })).toThrow(
      'Expected `budgets.global` to be a non-negative amount, got `-1` (number) for CNY',
    );
    expect(make({ global: 5, currency: 'yuan' })).toThrow(
      'Expected `budgets.currency` to be an ISO 4217 currency code',
    );
  });
});

describe('settling a call without usage', () => {
  it('charges a call cut before it reported usage its prompt’s estimate, in the call’s currency; one that was refused nothing', async () => {
    const clock = new ManualClock();
    clock.time = Date.parse('2026-12-01T12:00:00Z');
    // 1 per prompt token, in CNY: "hi" from the user is 6 tokens (4 of framing, 1 each for role and text).
    const prices = { cn: { m: { input: 1_000_000, output: 10, currency: 'CNY' } } };
    const budgets = new Budgets({ perCaller: { CNY: 100 } }, prices, new MemorySharedState(clock), clock);
    const reserve = async () => (await budgets.reserve('a', 'cn', request)) as Reservation;
    const r = await reserve();
    expect(r).toMatchObject({ currency: 'CNY', amount: 6.01, promptAmount: 6 });
    await budgets.settle(r, undefined, true);
    expect(budgets.spentToday().CNY?.['caller:a']).toEqual({ day: '2026-12-01', spent: 6, reserved: 0 });
    await budgets.settle(await reserve(), undefined);
    await budgets.settle(await reserve(), undefined, false);
    expect(budgets.spentToday().CNY?.['caller:a']).toEqual({ day: '2026-12-01', spent: 6, reserved: 0 });
    await budgets.settle(await reserve(), used, true);
    expect(budgets.spentToday().CNY?.['caller:a']).toEqual({
      day: '2026-12-01',
      spent: 16.01,
      reserved: 0,
    });
  });
});
