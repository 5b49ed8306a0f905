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
