import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { costOf, estimateCost, GLM_ZAI_PRICES, KIMI_PRICES, priceOf } from '../../../src/providers/prices.js';
import { toUsage } from '../../../src/providers/wire.js';

async function fileWith(json: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-prices-'));
  const path = join(dir, 'providers.json');
  await writeFile(path, JSON.stringify(json));
  return path;
}

describe('the cost rule', () => {
  it('charges uncached prompt, cached prompt and completion at their prices', () => {
    const price = { input: 2, cachedInput: 0.5, output: 10, currency: 'USD' };
    expect(
      costOf(price, { promptTokens: 3000, completionTokens: 100, totalTokens: 3100, cachedTokens: 1000 }),
    ).toEqual({
      amount: (2000 * 2 + 1000 * 0.5 + 100 * 10) / 1e6,
      currency: 'USD',
    });
  });

  it('charges cached tokens at the input price when the model has no cached price, and never more cached than prompt', () => {
    const price = { input: 1, output: 1, currency: 'CNY' };
    expect(
      costOf(price, { promptTokens: 10, completionTokens: 0, totalTokens: 10, cachedTokens: 50 }),
    ).toEqual({
      amount: 10 / 1e6,
      currency: 'CNY',
    });
  });

  it('estimates the most a call can cost: every prompt token uncached, the whole completion budget', () => {
    expect(estimateCost(KIMI_PRICES['kimi-k2.5'] as never, 1000, 2000).amount).toBeCloseTo(
      (1000 * 0.6 + 2000 * 3) / 1e6,
      12,
    );
  });

  it('reads cache hits where each vendor reports them', () => {
    expect(toUsage({ prompt_tokens: 10, completion_tokens: 2, cached_tokens: 4 })?.cachedTokens).toBe(4);
    expect(
      toUsage({ prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 6 } })
        ?.cachedTokens,
    ).toBe(6);
    expect(toUsage({ prompt_tokens: 10, completion_tokens: 2 })).not.toHaveProperty('cachedTokens');
  });

  it('knows no price for an unlisted model, nor for an inherited property name', () => {
    expect(priceOf({ kimi: KIMI_PRICES }, 'kimi', 'kimi-k9')).toBeUndefined();
    expect(priceOf({ kimi: KIMI_PRICES }, 'kimi', 'constructor')).toBeUndefined();
    expect(priceOf({ kimi: KIMI_PRICES }, 'glm', 'kimi-k2.5')).toBeUndefined();
  });
});

describe('prices from the providers file', () => {
  it('gives the international hosts their built-in USD prices, and the mainland hosts none', async () => {
    const env = { MOONSHOT_API_KEY: 'k', ZAI_API_KEY: 'z' };
    const loaded = await loadProviders({ env });
    expect(loaded.prices.kimi?.['kimi-k2.5']).toEqual(KIMI_PRICES['kimi-k2.5']);
    expect(loaded.prices.glm?.['glm-4.6']).toEqual(GLM_ZAI_PRICES['glm-4.6']);
    const cn = await loadProviders({
      env: { MOONSHOT_API_KEY: 'k', ZHIPUAI_API_KEY: 'z' },
      configPath: await fileWith({ kimi: { region: 'cn' } }),
    });
    expect(cn.prices.kimi).toBeUndefined();
    expect(cn.prices.glm).toBeUndefined();
    await Promise.all([loaded.close(), cn.close()]);
  });

  it('overrides and adds prices per model, in the currency given', async () => {
    const loaded = await loadProviders({
      env: { MOONSHOT_API_KEY: 'k', ZHIPUAI_API_KEY: 'z', MY_KEY: 'm' },
      configPath: await fileWith({
        kimi: { prices: { 'kimi-k2.5': { input: 1, output: 2 } } },
        glm: { prices: { 'glm-4.6': { input: 4, cachedInput: 1, output: 16, currency: 'CNY' } } },
        providers: [
          {
            name: 'mine',
            baseURL: 'https://a.example/v1',
            apiKeyEnv: 'MY_KEY',
            prices: { m1: { input: 3, output: 4 } },
          },
        ],
      }),
    });
    expect(loaded.prices.kimi?.['kimi-k2.5']).toEqual({ input: 1, output: 2, currency: 'USD' });
    expect(loaded.prices.kimi?.['kimi-k2.6']).toEqual(KIMI_PRICES['kimi-k2.6']);
    expect(loaded.prices.glm).toEqual({
      'glm-4.6': { input: 4, cachedInput: 1, output: 16, currency: 'CNY' },
    });
    expect(loaded.prices.mine).toEqual({ m1: { input: 3, output: 4, currency: 'USD' } });
    await loaded.close();
  });

  it('refuses a bad price with the field and what came', async () => {
    const path = await fileWith({ kimi: { prices: { 'kimi-k2.5': { input: -1, output: 2 } } } });
    await expect(loadProviders({ env: { MOONSHOT_API_KEY: 'k' }, configPath: path })).rejects.toThrow(
      'kimi.prices.kimi-k2.5.input: Expected a non-negative number (per million tokens), got `-1` (number)',
    );
    const currency = await fileWith({
      kimi: { prices: { x: { input: 1, output: 2, currency: 'dollars' } } },
    });
    await expect(loadProviders({ env: { MOONSHOT_API_KEY: 'k' }, configPath: currency })).rejects.toThrow(
      'kimi.prices.x.currency: Expected a three-letter currency code',
    );
  });
});
