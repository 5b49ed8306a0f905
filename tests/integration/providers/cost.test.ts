/**
 * Cost over real HTTP: the Kimi and GLM presets against the local server in their vendor modes,
 * each reporting usage (with cache hits) in its own place; the session's metadata carries the cost
 * from that usage and the price table, `metrics()` sums it, and Prometheus counts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsExporter } from '../../../src/observe/metrics.js';
import { createGlmProvider } from '../../../src/providers/glm.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import { GLM_ZAI_PRICES, KIMI_PRICES } from '../../../src/providers/prices.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-cost-test-0123456789';
let kimiServer: OpenAIServer;
let glmServer: OpenAIServer;
let runtime: Runtime;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kimiServer = createOpenAIServer({
    vendor: 'kimi',
    respond: () => ({
      content: 'priced',
      usage: { prompt_tokens: 1_000_000, completion_tokens: 200_000, cached_tokens: 400_000 },
    }),
  });
  glmServer = createOpenAIServer({
    vendor: 'glm',
    respond: () => ({
      content: 'priced',
      usage: {
        prompt_tokens: 2_000,
        completion_tokens: 1_000,
        prompt_tokens_details: { cached_tokens: 1_000 },
      },
    }),
  });
  await Promise.all([kimiServer.start(), glmServer.start()]);
  const kimi = createKimiProvider({ apiKey: KEY, baseURL: kimiServer.baseURL });
  const glm = createGlmProvider({ apiKey: KEY, baseURL: glmServer.baseURL });
  closers.push(
    () => kimi.close(),
    () => glm.close(),
  );
  runtime = createRuntime({
    providers: [kimi, glm],
    defaults: { maxAttempts: 1 },
    prices: { kimi: KIMI_PRICES, glm: GLM_ZAI_PRICES },
  });
});
afterAll(async () => {
  await runtime.shutdown({ deadlineMs: 100 });
  for (const close of closers) await close();
  await Promise.all([kimiServer.close(), glmServer.close()]);
});

const ask = (provider: string, model: string, stream: boolean) =>
  runtime.submit({ provider, model, stream, messages: [{ role: 'user', content: 'hi' }] }).result;

describe('cost in metadata, from the usage the server reported', () => {
  for (const stream of [false, true]) {
    it(`kimi ${stream ? 'stream' : 'complete'}: cache hits at the cached price (Moonshot's usage.cached_tokens)`, async () => {
      const result = await ask('kimi', 'kimi-k2.5', stream);
      expect(result.ok).toBe(true);
      expect(result.metadata.usage?.cachedTokens).toBe(400_000);
      // 600k uncached x $0.60 + 400k cached x $0.10 + 200k out x $3.00, per million.
      expect(result.metadata.cost).toEqual({ amount: 0.36 + 0.04 + 0.6, currency: 'USD' });
    });

    it(`glm ${stream ? 'stream' : 'complete'}: cache hits from usage.prompt_tokens_details`, async () => {
      const result = await ask('glm', 'glm-4.6', stream);
      expect(result.ok).toBe(true);
      // 1000 uncached x $0.60 + 1000 cached x $0.11 + 1000 out x $2.20, per million.
      expect(result.metadata.cost).toEqual({ amount: 0.00291, currency: 'USD' });
    });
  }

  it('a model without a price gets usage but no cost (no guess)', async () => {
    const result = await ask('kimi', 'kimi-unpriced-model', false);
    expect(result.ok).toBe(true);
    expect(result.metadata.usage?.promptTokens).toBe(1_000_000);
    expect(result.metadata).not.toHaveProperty('cost');
  });

  it('metrics() sums the cost by currency and Prometheus counts troupe_cost_total', async () => {
    const exporter = createMetricsExporter(runtime);
    try {
      const before = runtime.metrics().cost.USD ?? 0;
      await ask('kimi', 'kimi-k2.5', false);
      await ask('glm', 'glm-4.6', false);
      expect(runtime.metrics().cost.USD).toBeCloseTo(before + 1 + 0.00291, 9);
      const text = await exporter.scrape();
      expect(text).toContain('troupe_cost_total{provider="kimi",model="kimi-k2.5",currency="USD"} 1');
      expect(text).toContain('troupe_cost_total{provider="glm",model="glm-4.6",currency="USD"} 0.00291');
    } finally {
      exporter.close();
    }
  });
});
