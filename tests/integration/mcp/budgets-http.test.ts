/**
 * Budgets through the MCP front, with the SDK's real client over Streamable HTTP: each named
 * bearer token is its own caller; once a caller's daily budget is spent its next `chat` comes back
 * as a tool error `BUDGET_EXCEEDED` that says what was spent and when it resets, while another
 * caller goes on; each answer carries its cost in the session metadata.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// A price so high that one short chat spends the whole per-caller budget.
const PRICES = { fast: { 'sim-pro': { input: 100, output: 1000, currency: 'USD' } } };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    runtime: { prices: PRICES, budgets: { perCaller: 0.01, global: 10 } },
    http: {
      tokens: [
        { name: 'alice', token: 'tok-alice-0123456789' },
        { name: 'bob', token: 'tok-bob-0123456789' },
      ],
    },
  });
});
afterAll(async () => {
  await h.close();
});

const clientFor = (token: string): Promise<Client> =>
  h.client('legacy', { authorization: `Bearer ${token}` });
const chat = (client: Client, prompt: string) =>
  client.callTool({ name: 'chat', arguments: { prompt, model: 'sim-pro', max_tokens: 16 } });
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
});
