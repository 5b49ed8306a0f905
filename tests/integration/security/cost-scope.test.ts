/**
 * `cost_total` in the `sessions` tool, by who asks, with the SDK's real client over Streamable
 * HTTP: a named token that is not the admin reads what its own sessions cost; the admin reads what
 * every session ended here cost; so do clients of a server without named tokens (one shared owner,
 * the operator). Until 2026-12-05 every caller read the whole total, so a token learnt how much the
 * others spent (an audit).
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { clientWith, type Harness, startHarness, structured, text } from '../mcp/harness.js';

const PRICES = {
  fast: {
    'sim-pro': { input: 1, output: 10, currency: 'USD' },
    'sim-fast': { input: 2, output: 20, currency: 'CNY' },
  },
};

/** The cost of one chat as its answer carries it. */
async function chat(client: Client, model: string): Promise<{ currency: string; amount: number }> {
  const r = await client.callTool({
    name: 'chat',
    arguments: { prompt: `hi ${model}`, provider: 'fast', model },
  });
  const cost = structured(r).session.cost;
  expect(cost.amount).toBeGreaterThan(0);
  return cost;
}

async function costSeen(client: Client): Promise<{ total: Record<string, number>; line: string }> {
  const r = await client.callTool({ name: 'sessions', arguments: {} });
  const line = text(r)
    .split('\n')
    .find((l) => l.startsWith('Cost of')) as string;
  return { total: structured(r).cost_total, line };
}

describe('cost_total with named tokens', () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
    { name: 'carol', token: 'carol-token-333' },
    { name: 'ops', token: 'admin-token-4444', admin: true },
  ];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runtime: { prices: PRICES }, http: { tokens } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('shows a named token what its own sessions cost, and the admin what all of them did', async () => {
    const [alice, bob, carol, ops] = (await Promise.all(
      tokens.map((t) => clientWith(h, t.token)),
    )) as Client[];
    const a1 = await chat(alice as Client, 'sim-pro');
    const a2 = await chat(alice as Client, 'sim-pro');
    const b1 = await chat(bob as Client, 'sim-pro');
    const b2 = await chat(bob as Client, 'sim-fast');
    expect([a1.currency, b1.currency, b2.currency]).toEqual(['USD', 'USD', 'CNY']);

    const alices = await costSeen(alice as Client);
    expect(Object.keys(alices.total)).toEqual(['USD']);
    expect(alices.total.USD).toBeCloseTo(a1.amount + a2.amount, 9);
    expect(alices.line).toBe(`Cost of your ended sessions: ${alices.total.USD} USD.`);

    const bobs = await costSeen(bob as Client);
    expect(bobs.total).toEqual({ USD: b1.amount, CNY: b2.amount });
    expect(bobs.line).toBe(`Cost of your ended sessions: ${b1.amount} USD, ${b2.amount} CNY.`);

    // A token that ended nothing priced learns nothing of the others.
    const carols = await costSeen(carol as Client);
    expect(carols.total).toEqual({});
    expect(carols.line).toBe('Cost of your ended sessions: none priced.');

    const all = await costSeen(ops as Client);
    expect(all.total.USD).toBeCloseTo(a1.amount + a2.amount + b1.amount, 9);
    expect(all.total.CNY).toBe(b2.amount);
    expect(all.total).toEqual(h.mcp.runtime.metrics().cost);
    expect(all.line).toMatch(/^Cost of ended sessions: [\d.]+ USD, [\d.]+ CNY\.$/);
    // stdio's one client (no caller: `local`) sees everything in its process.
    const local = await sessionsTool.run({}, h.mcp, { signal: new AbortController().signal });
    expect(local.structured?.cost_total).toEqual(all.total);
    // Only the named tokens that ended a priced session are kept.
    expect(h.mcp.costs.owners).toBe(2);
  });
});

describe('cost_total without named tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runtime: { prices: PRICES } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('shows every client the whole total (they are one shared owner, the operator), and keeps no table', async () => {
    const first = await h.client('legacy');
    const second = await h.client('legacy');
    const cost = await chat(first, 'sim-fast');
    const seen = await costSeen(second);
    expect(seen.total).toEqual({ CNY: cost.amount });
    expect(seen.line).toBe(`Cost of ended sessions: ${cost.amount} CNY.`);
    expect(h.mcp.costs.owners).toBe(0);
  });
});
