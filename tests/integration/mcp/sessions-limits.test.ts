/**
 * The `sessions` tool says what each provider with limits in its own units has left, through the
 * SDK's real client over Streamable HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, structured, text } from './harness.js';

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
