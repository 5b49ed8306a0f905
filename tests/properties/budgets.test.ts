/**
 * Budgets, as properties over random interleavings of calls (issue 15): whatever the order in
 * which concurrent calls reserve and settle, a budget is never exceeded by more than one call's
 * estimate, and a refusal says what was spent and when it resets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../src/core/errors.js';
import { estimatePromptTokens } from '../../src/providers/estimate.js';
import type { ChatRequest } from '../../src/providers/port.js';
import { costOf, estimateCost } from '../../src/providers/prices.js';
import { Budgets, type Reservation } from '../../src/runtime/budgets.js';
import { MemorySharedState } from '../../src/runtime/memory-state.js';
import { ManualClock } from '../support/manual-clock.js';

const PRICE = { input: 2, output: 8, currency: 'USD' };
// A second currency, tiered by prompt length: the tier rule is on the estimate and the bill alike.
const YUAN = {
  input: 14,
  output: 56,
  currency: 'CNY',
  tiers: [{ fromPromptTokens: 60, input: 28, output: 112 }],
};
const PRICES = { p: { m: PRICE }, q: { m: YUAN } };

const call = fc.record({
  owner: fc.constantFrom('token:a', 'token:b', 'mcp:c'),
  provider: fc.constantFrom('p', 'q'),
  prompt: fc.string({ maxLength: 400 }),
  maxTokens: fc.integer({ min: 1, max: 4000 }),
  // What the call really used, as a share of its estimate (never above it: the rule's premise).
  used: fc.double({ min: 0, max: 1, noNaN: true }),
  settleAfter: fc.nat(5),
});

function requestOf(c: { prompt: string; maxTokens: number }): ChatRequest {
  return { model: 'm', messages: [{ role: 'user', content: c.prompt }], max_tokens: c.maxTokens };
}

describe('budget properties', () => {
  it('never exceeds a budget by more than one call estimate, per currency, however calls interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(call, { minLength: 5, maxLength: 40 }),
        fc.double({ min: 0.001, max: 0.05, noNaN: true }),
        fc.double({ min: 0.002, max: 0.1, noNaN: true }),
        async (calls, perCaller, global) => {
          const clock = new ManualClock();
          clock.time = Date.parse('2026-12-01T10:00:00Z');
          const state = new MemorySharedState(clock);
          // Yuan budgets seven times the dollar ones: each currency is held to its own.
          const limit = { USD: { perCaller, global }, CNY: { perCaller: perCaller * 7, global: global * 7 } };
          const budgets = new Budgets(
            {
              perCaller: { USD: perCaller, CNY: limit.CNY.perCaller },
              global: { USD: global, CNY: limit.CNY.global },
            },
            PRICES,
            state,
            clock,
          );
          const out: { reservation: Reservation; prompt: number; completion: number; used: number }[] = [];
          const maxEstimate: Record<string, number> = { USD: 0, CNY: 0 };
          const spentBy: Record<string, number> = {};
          const spent: Record<string, number> = { USD: 0, CNY: 0 };
          const settle = async (i: number) => {
            const [c] = out.splice(i % out.length, 1);
            if (c === undefined) return;
            const usage = {
              promptTokens: Math.floor(c.prompt * c.used),
              completionTokens: Math.floor(c.completion * c.used),
              totalTokens: 0,
            };
            await budgets.settle(c.reservation, usage);
            const cost = costOf(c.reservation.currency === 'USD' ? PRICE : YUAN, usage).amount;
            const cur = c.reservation.currency;
            spent[cur] = (spent[cur] ?? 0) + cost;
            const owner = `${cur} ${c.reservation.keys[0]}`;
            spentBy[owner] = (spentBy[owner] ?? 0) + cost;
          };
          // Reservations start together, in waves: each wave's changes interleave in the state.
          for (let i = 0; i < calls.length; i += 4) {
            const wave = calls.slice(i, i + 4);
            const answers = await Promise.all(
              wave.map((c) => budgets.reserve(c.owner, c.provider, requestOf(c))),
            );
            answers.forEach((answer, k) => {
              const c = wave[k] as (typeof calls)[number];
              const price = c.provider === 'p' ? PRICE : YUAN;
              const prompt = estimatePromptTokens(requestOf(c));
              const estimate = estimateCost(price, prompt, c.maxTokens).amount;
              maxEstimate[price.currency] = Math.max(maxEstimate[price.currency] ?? 0, estimate);
              if (answer instanceof TroupeError) {
                expect(['BUDGET_EXCEEDED']).toContain(answer.code);
                expect(answer.message).toContain(`${price.currency} per UTC day`);
                expect(answer.message).toMatch(
                  /(USD|CNY) spent and .* reserved by calls in flight; it resets at 2026-12-02T00:00:00.000Z/,
                );
                expect(answer.retryAfterMs).toBe(14 * 3600_000);
              } else {
                expect(answer.currency).toBe(price.currency);
                out.push({ reservation: answer, prompt, completion: c.maxTokens, used: c.used });
              }
            });
            for (const c of wave) if (c.settleAfter < 2 && out.length > 0) await settle(c.settleAfter);
          }
          while (out.length > 0) await settle(0);
          const eps = 1e-6;
          const today = budgets.spentToday();
          for (const cur of ['USD', 'CNY'] as const) {
            const most = maxEstimate[cur] ?? 0;
            expect(spent[cur]).toBeLessThanOrEqual(limit[cur].global + most + eps);
            // What the budget holds is this currency's calls alone: nothing of the other's.
            expect(today[cur]?.global?.spent ?? 0).toBeCloseTo(spent[cur] ?? 0, 6);
            expect(today[cur]?.global?.reserved ?? 0).toBe(0);
          }
          for (const [owner, total] of Object.entries(spentBy)) {
            const cur = owner.slice(0, 3) as 'USD' | 'CNY';
            expect(total).toBeLessThanOrEqual(limit[cur].perCaller + (maxEstimate[cur] ?? 0) + eps);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a new day starts from nothing; past maxCallers, new callers share one budget', async () => {
    const clock = new ManualClock();
    clock.time = Date.parse('2026-12-01T23:00:00Z');
    const budgets = new Budgets(
      { perCaller: 0.001, maxCallers: 2 },
      PRICES,
      new MemorySharedState(clock),
      clock,
    );
    const big = { prompt: 'x', maxTokens: 1000 }; // 0.008 USD estimate: one call spends a caller's day
    const first = (await budgets.reserve('a', 'p', requestOf(big))) as Reservation;
    await budgets.settle(first, { promptTokens: 1, completionTokens: 1000, totalTokens: 1001 });
    expect(await budgets.reserve('a', 'p', requestOf(big))).toBeInstanceOf(TroupeError);
    expect(() => budgets.precheck('a')).toThrow(/budget of caller `a`/);
    expect(first.keys).toEqual(['caller:a']);
    const b = (await budgets.reserve('b', 'p', requestOf(big))) as Reservation;
    const c = (await budgets.reserve('c', 'p', requestOf(big))) as Reservation;
    expect(b.keys).toEqual(['caller:b']);
    expect(c.keys).toEqual(['caller:(other callers)']);
    clock.time = Date.parse('2026-12-02T00:00:01Z');
    expect(() => budgets.precheck('a')).not.toThrow();
    expect(await budgets.reserve('a', 'p', requestOf(big))).not.toBeInstanceOf(TroupeError);
  });
});
