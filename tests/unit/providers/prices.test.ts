import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import {
  checkPrice,
  checkPriceTable,
  costOf,
  estimateCost,
  GLM_ZAI_PRICES,
  KIMI_CN_PRICES,
  KIMI_PRICES,
  type ModelPrice,
  priceOf,
  priceTableOf,
} from '../../../src/providers/prices.js';
import { toUsage } from '../../../src/providers/wire.js';
import { tempDir } from '../../support/temp-dir.js';

async function fileWith(json: unknown): Promise<string> {
  const dir = tempDir('troupe-prices-');
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
    // With a cached price apart: a server's cached count above its prompt count charges the whole
    // prompt as cached, never a negative uncached part.
    const cheaper = { input: 2, cachedInput: 0.5, output: 1, currency: 'USD' };
    expect(
      costOf(cheaper, { promptTokens: 10, completionTokens: 0, totalTokens: 10, cachedTokens: 50 }),
    ).toEqual({ amount: 5 / 1e6, currency: 'USD' });
  });

  it('estimates the most a call can cost: every prompt token uncached, the whole completion budget', () => {
    expect(estimateCost(KIMI_PRICES['kimi-k2.5'] as never, 1000, 2000).amount).toBeCloseTo(
      (1000 * 0.6 + 2000 * 3) / 1e6,
      12,
    );
  });

  it('charges a whole call at the rates of the tier its prompt length reaches, bill and estimate alike', () => {
    const price: ModelPrice = {
      input: 2,
      cachedInput: 0.4,
      output: 8,
      currency: 'CNY',
      tiers: [
        { fromPromptTokens: 32_000, input: 4, cachedInput: 0.8, output: 16 },
        { fromPromptTokens: 128_000, input: 6, output: 24 },
      ],
    };
    const usage = (promptTokens: number, cachedTokens = 0) => ({
      promptTokens,
      completionTokens: 1000,
      totalTokens: promptTokens + 1000,
      cachedTokens,
    });
    // Below the first tier: the base rates.
    expect(costOf(price, usage(31_999)).amount).toBeCloseTo((31_999 * 2 + 1000 * 8) / 1e6, 9);
    // At the boundary the tier applies, to every token, cached ones at the tier's cached rate.
    expect(costOf(price, usage(32_000, 10_000)).amount).toBeCloseTo(
      (22_000 * 4 + 10_000 * 0.8 + 1000 * 16) / 1e6,
      9,
    );
    // The last tier reached wins; without its own cached rate, cached tokens cost its input rate.
    expect(costOf(price, usage(200_000, 100_000)).amount).toBeCloseTo((200_000 * 6 + 1000 * 24) / 1e6, 9);
    // The estimate uses the same rule on the estimated prompt.
    expect(estimateCost(price, 40_000, 1000).amount).toBeCloseTo((40_000 * 4 + 1000 * 16) / 1e6, 9);
    expect(estimateCost(price, 1000, 1000).amount).toBeCloseTo((1000 * 2 + 1000 * 8) / 1e6, 9);
  });

  it('checks tiers field by field: ascending thresholds, non-negative rates', () => {
    const base = { input: 1, output: 2, currency: 'CNY' };
    expect(checkPrice({ ...base, tiers: [{ fromPromptTokens: 32_000, input: 2, output: 4 }] }, 'p')).toEqual({
      ...base,
      tiers: [{ fromPromptTokens: 32_000, input: 2, output: 4 }],
    });
    expect(() =>
      checkPrice(
        {
          ...base,
          tiers: [
            { fromPromptTokens: 128_000, input: 2, output: 4 },
            { fromPromptTokens: 32_000, input: 3, output: 5 },
          ],
        },
        'glm.prices.glm-4.6',
      ),
    ).toThrow('glm.prices.glm-4.6.tiers[1].fromPromptTokens: Expected an integer above 128000');
    expect(() =>
      checkPrice({ ...base, tiers: [{ fromPromptTokens: 10, input: -1, output: 4 }] }, 'p'),
    ).toThrow('p.tiers[0].input: Expected a non-negative number');
    expect(() => checkPrice({ ...base, tiers: [] }, 'p')).toThrow('p.tiers: Expected a non-empty array');
    expect(() =>
      checkPrice({ ...base, tiers: [{ fromPromptTokens: 5, input: 1, output: 1, upTo: 9 }] }, 'p'),
    ).toThrow('p.tiers[0]: Expected only fromPromptTokens, input, output and cachedInput');
  });

  it('reads cache hits where each vendor reports them', () => {
    expect(toUsage({ prompt_tokens: 10, completion_tokens: 2, cached_tokens: 4 })?.cachedTokens).toBe(4);
    expect(
      toUsage({ prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 6 } })
        ?.cachedTokens,
    ).toBe(6);
    expect(toUsage({ prompt_tokens: 10, completion_tokens: 2 })).not.toHaveProperty('cachedTokens');
  });

  it("carries Z.ai's table (docs.z.ai pricing) for every GLM id it lists, per million tokens in USD", () => {
    const usd = (input: number, cachedInput: number | undefined, output: number) =>
      cachedInput === undefined
        ? { input, output, currency: 'USD' }
        : { input, cachedInput, output, currency: 'USD' };
    expect(GLM_ZAI_PRICES).toEqual({
      'glm-5': usd(1, 0.2, 3.2),
      'glm-5-turbo': usd(1.2, 0.24, 4),
      'glm-4.7': usd(0.6, 0.11, 2.2),
      'glm-4.7-flashx': usd(0.07, 0.01, 0.4),
      'glm-4.7-flash': usd(0, 0, 0),
      'glm-4.6': usd(0.6, 0.11, 2.2),
      'glm-4.5': usd(0.6, 0.11, 2.2),
      'glm-4.5-x': usd(2.2, 0.45, 8.9),
      'glm-4.5-air': usd(0.2, 0.03, 1.1),
      'glm-4.5-airx': usd(1.1, 0.22, 4.5),
      'glm-4.5-flash': usd(0, 0, 0),
      // No cached price on the vendor's page: a cache hit is charged at the input rate.
      'glm-4-32b-0414-128k': usd(0.1, undefined, 0.1),
    });
    // No vendor page read gives glm-5.1, glm-5.2 or glm-5v-turbo a Z.ai price: no price, no cost.
    for (const model of ['glm-5.1', 'glm-5.2', 'glm-5v-turbo'])
      expect(priceOf({ glm: GLM_ZAI_PRICES }, 'glm', model)).toBeUndefined();
    const turbo = GLM_ZAI_PRICES['glm-5-turbo'] as ModelPrice;
    expect(
      costOf(turbo, { promptTokens: 3000, completionTokens: 500, totalTokens: 3500, cachedTokens: 1000 })
        .amount,
    ).toBeCloseTo((2000 * 1.2 + 1000 * 0.24 + 500 * 4) / 1e6, 12);
  });

  it('knows no price for an unlisted model, nor for an inherited property name', () => {
    expect(priceOf({ kimi: KIMI_PRICES }, 'kimi', 'kimi-k9')).toBeUndefined();
    expect(priceOf({ kimi: KIMI_PRICES }, 'kimi', 'constructor')).toBeUndefined();
    expect(priceOf({ kimi: KIMI_PRICES }, 'glm', 'kimi-k2.5')).toBeUndefined();
  });
});

describe('prices from the providers file', () => {
  it('gives each host its own built-in table: USD abroad, CNY on api.moonshot.cn, none on BigModel', async () => {
    const intl = await loadProviders({ env: { MOONSHOT_API_KEY: 'k', ZAI_API_KEY: 'z' } });
    expect(intl.prices.kimi?.['kimi-k2.5']).toEqual(KIMI_PRICES['kimi-k2.5']);
    expect(intl.prices.glm?.['glm-4.6']).toEqual(GLM_ZAI_PRICES['glm-4.6']);
    const cn = await loadProviders({
      env: { MOONSHOT_API_KEY: 'k', ZHIPUAI_API_KEY: 'z' },
      configPath: await fileWith({ kimi: { region: 'cn' } }),
    });
    expect(cn.prices.kimi?.['kimi-k2.5']).toEqual({
      input: 4,
      cachedInput: 0.7,
      output: 21,
      currency: 'CNY',
    });
    expect(cn.prices.kimi?.['moonshot-v1-128k']).toEqual({ input: 10, output: 30, currency: 'CNY' });
    expect(cn.prices.glm).toBeUndefined();
    // The coding plan is a subscription: no per-token price.
    const plan = await loadProviders({ env: { ZAI_API_KEY: 'z', GLM_CODING_PLAN: '1' } });
    expect(plan.prices.glm).toBeUndefined();
    await Promise.all([intl.close(), cn.close(), plan.close()]);
  });

  it('lets a base URL on a vendor host decide, and prices any other base URL as the preset host', async () => {
    // The mainland Moonshot host given only as a base URL (no `region`) still bills in CNY.
    const byURL = await loadProviders({
      env: { MOONSHOT_API_KEY: 'k', KIMI_BASE_URL: 'https://api.moonshot.cn/v1' },
    });
    expect(byURL.prices.kimi).toEqual(KIMI_CN_PRICES);
    // A BigModel key pointed at Z.ai's general path is billed by Z.ai, in USD.
    const zai = await loadProviders({
      env: { ZHIPUAI_API_KEY: 'z', GLM_BASE_URL: 'https://api.z.ai/api/paas/v4' },
    });
    expect(zai.prices.glm).toEqual(GLM_ZAI_PRICES);
    // A proxy is priced as the host the preset selected: mainland here.
    const proxy = await loadProviders({
      env: { MOONSHOT_API_KEY: 'k' },
      configPath: await fileWith({ kimi: { region: 'cn', baseURL: 'http://127.0.0.1:9/v1' } }),
    });
    expect(proxy.prices.kimi).toEqual(KIMI_CN_PRICES);
    // Kimi Code is a membership for coding tools: no per-token price, as the GLM Coding Plan.
    const code = await loadProviders({
      env: { KIMI_API_KEY: 'sk-kimi-k', KIMI_BASE_URL: 'https://api.kimi.com/coding/v1' },
    });
    expect(code.prices.kimi).toBeUndefined();
    await Promise.all([byURL.close(), zai.close(), proxy.close(), code.close()]);
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
      'kimi.prices.x.currency: Expected an ISO 4217 currency code',
    );
    // Three letters, but no currency: a price no budget in USD would ever count.
    const typo = await fileWith({
      kimi: { prices: { x: { input: 1, output: 2, currency: 'UDS' } } },
    });
    await expect(loadProviders({ env: { MOONSHOT_API_KEY: 'k' }, configPath: typo })).rejects.toThrow(
      'kimi.prices.x.currency: Expected an ISO 4217 currency code such as USD or CNY, got `"UDS"` (string)',
    );
  });
});

describe('a model or provider named like an Object property', () => {
  const price = { currency: 'USD', input: 1, output: 2 };
  it('keeps a configured price for a model named `__proto__`, and finds it', () => {
    // JSON.parse makes `__proto__` an own key; assigned to the table it set the table's prototype
    // instead, so the model was served unpriced (no cost counted, no budget charged).
    const configured = JSON.parse('{"__proto__": {"currency": "USD", "input": 1, "output": 2}}');
    const table = priceTableOf([['vl', {}, configured, 'providers[0]']]);
    expect(priceOf(table, 'vl', '__proto__')).toEqual(price);
    expect(priceOf(table, 'vl', 'other')).toBeUndefined();
    const checked = checkPriceTable(
      JSON.parse('{"vl": {"__proto__": {"currency": "USD", "input": 1, "output": 2}}}'),
    );
    expect(priceOf(checked, 'vl', '__proto__')).toEqual(price);
  });

  it('finds no price through an inherited property of the table', () => {
    // A provider named `constructor` with no prices read `Object` as its models, and a model id
    // `prototype` (a provider that passes any id on) as its price: every cost NaN.
    const table = priceTableOf([['vl', {}, { m: price }, 'providers[0]']]);
    expect(priceOf(table, 'constructor', 'prototype')).toBeUndefined();
    expect(priceOf(table, 'toString', 'length')).toBeUndefined();
  });
});
