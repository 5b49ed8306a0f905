/**
 * The `sessions` tool says what each provider with limits in its own units has left, through the
 * SDK's real client over Streamable HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { clientWith, type Harness, startHarness, structured, text } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    limits: { providers: { fast: { requestsPerMinute: 10, tokensPerDay: 5_000_000 } } },
  });
});
afterAll(async () => {
  await h.close();
});

describe('sessions tool with provider limits', () => {
  it("shows each limited provider's remaining requests and tokens, and its cooldown state", async () => {
    const client = await h.client('legacy');
    for (const i of [1, 2]) {
      const r = await client.callTool({ name: 'chat', arguments: { prompt: `call ${i}`, provider: 'fast' } });
      expect(structured(r).ok).toBe(true);
    }
    const result = await client.callTool({ name: 'sessions', arguments: {} });
    const left = structured(result).limits_left;
    expect(left.fast).toMatchObject({
      cooldown: 'open',
      cooldown_until: null,
      requests_per_minute: 8,
      tokens_per_minute: null,
      concurrent: null,
    });
    expect(left.fast.tokens_per_day).toBeLessThan(5_000_000);
    expect(left.slow).toBeUndefined();
    expect(text(result)).toContain('fast limits: open, left 8 requests/min');
  });
});

describe('sessions tool with a provider that cools down per model', () => {
  let g: Harness;
  beforeAll(async () => {
    g = await startHarness({
      providers: [
        createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 }, retryAfterMs: 60_000 }),
      ],
      limits: { providers: { fast: { cooldownScope: 'model' } } },
      runtime: { defaults: { maxAttempts: 1 } },
    });
  });
  afterAll(async () => {
    await g.close();
  });

  it('names the model cooling down after its 429, and keeps the provider open', async () => {
    const client = await g.client('legacy');
    const limited = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'hi', provider: 'fast', model: 'sim-pro', extra: { simulate: 'rate_limited' } },
    });
    expect(structured(limited).error?.code).toBe('RATE_LIMITED');
    const result = await client.callTool({ name: 'sessions', arguments: {} });
    const fast = structured(result).limits_left.fast;
    expect(fast.cooldown).toBe('open');
    expect(Object.keys(fast.models_cooling_until)).toEqual(['sim-pro']);
    expect(fast.models_cooling_until['sim-pro']).toBeGreaterThan(Date.now() - 1000);
    expect(text(result)).toMatch(
      /fast limits: open, no limits in its units; sim-pro cooling down until \d{4}-/,
    );
  });
});

describe('sessions tool: models cooling down, by who may see their ids', () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
    { name: 'ops', token: 'admin-token-333', admin: true },
  ];
  let g: Harness;
  beforeAll(async () => {
    g = await startHarness({
      // `fast` lists the simulated models; `gw` lists none, so any id passes (a gateway's).
      providers: [
        // A minute's cooldown: the simulated 200 ms could end between a 429 and the read of it on a
        // loaded machine (seen failing alongside other files).
        createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 }, retryAfterMs: 60_000 }),
        createSimulatedProvider({ name: 'gw', latencyMs: { min: 1, max: 5 }, retryAfterMs: 60_000 }),
      ],
      limits: { providers: { fast: { cooldownScope: 'model' }, gw: { cooldownScope: 'model' } } },
      runtime: { defaults: { maxAttempts: 1 } },
      http: { tokens },
    });
  });
  afterAll(async () => {
    await g.close();
  });

  // A model id is the caller's own words (a fine-tuned id can name a customer): bob read alice's.
  it('shows a caller its own and the listed models by id, and only counts other callers’', async () => {
    const [alice, bob, ops] = await Promise.all(tokens.map((t) => clientWith(g, t.token)));
    for (const [client, provider, model] of [
      [alice, 'gw', 'acme-private-ft'],
      [alice, 'fast', 'sim-pro'],
      [bob, 'gw', 'bob-ft'],
    ] as const) {
      const limited = await client!.callTool({
        name: 'chat',
        arguments: { prompt: 'hi', provider, model, extra: { simulate: 'rate_limited' } },
      });
      expect(structured(limited).error?.code).toBe('RATE_LIMITED');
    }
    const seen = async (client: typeof alice) =>
      structured(await client!.callTool({ name: 'sessions', arguments: {} })).limits_left;
    const bobs = await seen(bob);
    // sim-pro is alice's, but listed (list_models shows it to anyone).
    expect(bobs.fast.models_cooling_until).toHaveProperty('sim-pro');
    expect(bobs.fast.other_models_cooling).toBeUndefined();
    expect(Object.keys(bobs.gw.models_cooling_until)).toEqual(['bob-ft']);
    expect(bobs.gw.other_models_cooling).toBe(1);
    expect(JSON.stringify(bobs)).not.toContain('acme');
    const bobText = text(await bob!.callTool({ name: 'sessions', arguments: {} }));
    expect(bobText).not.toContain('acme');
    expect(bobText).toMatch(/gw limits: .*bob-ft cooling down until .*; 1 more model\(s\) cooling down/);
    const alices = await seen(alice);
    expect(Object.keys(alices.gw.models_cooling_until)).toEqual(['acme-private-ft']);
    expect(alices.gw.other_models_cooling).toBe(1);
    const admins = await seen(ops);
    expect(Object.keys(admins.gw.models_cooling_until).sort()).toEqual(['acme-private-ft', 'bob-ft']);
    expect(admins.gw.other_models_cooling).toBeUndefined();
  });
});
