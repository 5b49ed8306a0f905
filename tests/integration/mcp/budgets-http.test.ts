/**
 * Budgets through the MCP front, with the SDK's real client over Streamable HTTP: each named
 * bearer token is its own caller; once a caller's daily budget is spent its next `chat` comes back
 * as a tool error `BUDGET_EXCEEDED` that says what was spent and when it resets, while another
 * caller goes on; each answer carries its cost in the session metadata. Budgets are per currency:
 * a caller whose USD budget is spent still calls a model priced in CNY until its CNY budget is
 * spent, and never is USD added to CNY.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// Prices so high that one short chat spends the whole per-caller budget, in either currency.
const PRICES = {
  fast: {
    'sim-pro': { input: 100, output: 1000, currency: 'USD' },
    'sim-fast': { input: 100, output: 1000, currency: 'CNY' },
  },
};
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    runtime: { prices: PRICES, budgets: { perCaller: { USD: 0.01, CNY: 0.05 }, global: { USD: 10 } } },
    http: {
      tokens: [
        { name: 'alice', token: 'tok-alice-0123456789' },
        { name: 'bob', token: 'tok-bob-0123456789' },
        { name: 'carol', token: 'tok-carol-0123456789' },
      ],
    },
  });
});
afterAll(async () => {
  await h.close();
});

const clientFor = (token: string): Promise<Client> =>
  h.client('legacy', { authorization: `Bearer ${token}` });
const chat = (client: Client, prompt: string, model = 'sim-pro') =>
  client.callTool({ name: 'chat', arguments: { prompt, model, max_tokens: 16 } });
// biome-ignore lint/suspicious/noExplicitAny: structured content is checked field by field
const structured = (r: unknown) => (r as { structuredContent: any }).structuredContent;
const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

describe('BUDGET_EXCEEDED through the MCP client', () => {
  it('refuses a caller past its daily budget, with what was spent and the reset, and leaves others alone', async () => {
    const alice = await clientFor('tok-alice-0123456789');
    const first = await chat(alice, 'hello');
    expect(first.isError).toBeFalsy();
    const cost = structured(first).session.cost;
    expect(cost.currency).toBe('USD');
    expect(cost.amount).toBeGreaterThan(0.01);
    expect(text(first)).toContain(`cost ${cost.amount} USD`);

    const refused = await chat(alice, 'again');
    expect(refused.isError).toBe(true);
    const error = structured(refused).error;
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('budget of caller `token:alice` (0.01 USD per UTC day)');
    expect(error.message).toContain(`got ${cost.amount} USD spent`);
    expect(error.message).toMatch(/resets at \d{4}-\d\d-\d\dT00:00:00.000Z/);
    expect(error.retry_after_ms).toBeGreaterThan(0);
    expect(error.retry_after_ms).toBeLessThanOrEqual(86_400_000);
    expect(text(refused)).toMatch(/^BUDGET_EXCEEDED: /);

    const bob = await clientFor('tok-bob-0123456789');
    const other = await chat(bob, 'hello');
    expect(other.isError).toBeFalsy();
    expect(h.mcp.runtime.metrics().rejected.BUDGET_EXCEEDED).toBe(1);
  });

  it('keeps currencies apart: a spent USD budget leaves the CNY budget, which refuses in CNY', async () => {
    const carol = await clientFor('tok-carol-0123456789');
    expect((await chat(carol, 'hello')).isError).toBeFalsy();
    const usd = await chat(carol, 'again');
    expect(structured(usd).error.code).toBe('BUDGET_EXCEEDED');
    expect(structured(usd).error.message).toContain('(0.01 USD per UTC day)');
    // The same caller, a model priced in CNY: its own budget, not the spent USD one.
    const costs: number[] = [];
    let refused: unknown;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const r = await chat(carol, `yuan ${i}`, 'sim-fast');
      if (r.isError) refused = r;
      else {
        expect(structured(r).session.cost.currency).toBe('CNY');
        costs.push(structured(r).session.cost.amount);
      }
    }
    expect(costs.length).toBeGreaterThan(0);
    const error = structured(refused).error;
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.message).toContain('budget of caller `token:carol` (0.05 CNY per UTC day)');
    // What it says was spent is the CNY sessions' cost alone: no USD in it.
    const spent = Number(/got ([\d.]+) CNY spent/.exec(error.message)?.[1]);
    expect(spent).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      9,
    );
    expect(spent).toBeGreaterThanOrEqual(0.05);
    expect(error.message).toMatch(/resets at \d{4}-\d\d-\d\dT00:00:00.000Z/);
  });
});
