/**
 * What a call costs: a price per model (input, cached input and output, per million tokens, in the
 * currency the vendor bills in, optionally tiered by prompt length) and the one rule that turns
 * reported usage into money. Unknown price: no cost, never a guess.
 *
 * The built-in tables are the vendors' published pay-as-you-go prices, one per host: Moonshot's
 * international platform (`api.moonshot.ai`, USD), its mainland platform (`api.moonshot.cn`, CNY)
 * and Z.ai (`api.z.ai`, USD). BigModel (`open.bigmodel.cn`, CNY, tiered by input length) has none:
 * its own price page was not in the sources read (docs/providers.md, "Prices", sources and dates).
 * Give those, or any other, in the providers file (`prices`).
 */
import { isCurrencyCode } from '../core/currency.js';
import { describe, runtimeError } from '../core/errors.js';
import type { TokenUsage } from './port.js';

/** Rates per million tokens. */
export interface Rates {
  /** Prompt tokens that missed the vendor's context cache. */
  readonly input: number;
  /** Prompt tokens served from the vendor's context cache. @default `input` */
  readonly cachedInput?: number;
  readonly output: number;
}

/**
 * The rates of a call whose prompt has at least `fromPromptTokens` tokens (the vendor's input
 * length, cached tokens included). Every token of such a call is charged at the tier's rates.
 */
export interface PriceTier extends Rates {
  readonly fromPromptTokens: number;
}

/** One model's price, per million tokens. */
export interface ModelPrice extends Rates {
  /** ISO 4217 code of the currency the vendor bills in (`USD`, `CNY`). */
  readonly currency: string;
  /**
   * Higher rates for longer prompts, ascending by `fromPromptTokens`; below the first tier the
   * base rates apply. @default none
   */
  readonly tiers?: readonly PriceTier[];
}

/** Prices by provider name, then model id. */
export type PriceTable = Readonly<Record<string, Readonly<Record<string, ModelPrice>>>>;

/** What a session cost, from the usage its provider reported. */
export interface Cost {
  readonly amount: number;
  readonly currency: string;
}

const priced =
  (currency: string) =>
  (input: number, cachedInput: number | undefined, output: number): ModelPrice =>
    cachedInput === undefined ? { input, output, currency } : { input, cachedInput, output, currency };
const usd = priced('USD');
const cny = priced('CNY');

/**
 * Moonshot's international platform (`api.moonshot.ai`), USD per million tokens. Sources:
 * docs/providers.md, "Prices" (platform.moonshot.ai / platform.kimi.ai pricing pages).
 */
export const KIMI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'kimi-k2.6': usd(0.95, 0.16, 4.0),
  'kimi-k2.5': usd(0.6, 0.1, 3.0),
  'kimi-k2-thinking': usd(0.6, 0.15, 2.5),
  'kimi-k2-thinking-turbo': usd(1.15, 0.15, 8.0),
  'kimi-k2-turbo-preview': usd(1.15, 0.15, 8.0),
  'kimi-k2-0905-preview': usd(0.6, 0.15, 2.5),
  'kimi-k2-0711-preview': usd(0.6, 0.15, 2.5),
  'moonshot-v1-8k': usd(0.2, undefined, 2.0),
  'moonshot-v1-32k': usd(1.0, undefined, 3.0),
  'moonshot-v1-128k': usd(2.0, undefined, 5.0),
};

/**
 * Moonshot's mainland platform (`api.moonshot.cn`), CNY per million tokens: platform.moonshot.cn
 * /docs/pricing/chat ("Last updated 2026-02-09") and, for kimi-k2.6, platform.kimi.com/docs/pricing
 * /chat-k26; read 2026-12-01 (docs/providers.md, "Prices").
 */
export const KIMI_CN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'kimi-k2.6': cny(6.5, 1.1, 27.0),
  'kimi-k2.5': cny(4.0, 0.7, 21.0),
  'kimi-k2-0905-preview': cny(4.0, 1.0, 16.0),
  'kimi-k2-0711-preview': cny(4.0, 1.0, 16.0),
  'kimi-k2-turbo-preview': cny(8.0, 1.0, 58.0),
  'kimi-k2-thinking': cny(4.0, 1.0, 16.0),
  'kimi-k2-thinking-turbo': cny(8.0, 1.0, 58.0),
  'moonshot-v1-8k': cny(2.0, undefined, 10.0),
  'moonshot-v1-32k': cny(5.0, undefined, 20.0),
  'moonshot-v1-128k': cny(10.0, undefined, 30.0),
  'moonshot-v1-8k-vision-preview': cny(2.0, undefined, 10.0),
  'moonshot-v1-32k-vision-preview': cny(5.0, undefined, 20.0),
  'moonshot-v1-128k-vision-preview': cny(10.0, undefined, 30.0),
};

/**
 * Z.ai (docs.z.ai/guides/overview/pricing, `api.z.ai`), USD per million tokens: every text-model row
 * of the vendor's table with an id troupe knows (read 2026-12-02). GLM-4-32B-0414-128K has no cached
 * price there (`-`); GLM-4.7-Flash and GLM-4.5-Flash are "Free".
 */
export const GLM_ZAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'glm-5': usd(1.0, 0.2, 3.2),
  'glm-5-turbo': usd(1.2, 0.24, 4.0),
  'glm-4.7': usd(0.6, 0.11, 2.2),
  'glm-4.7-flashx': usd(0.07, 0.01, 0.4),
  'glm-4.7-flash': usd(0, 0, 0),
  'glm-4.6': usd(0.6, 0.11, 2.2),
  'glm-4.5': usd(0.6, 0.11, 2.2),
  'glm-4.5-x': usd(2.2, 0.45, 8.9),
  'glm-4.5-air': usd(0.2, 0.03, 1.1),
  'glm-4.5-airx': usd(1.1, 0.22, 4.5),
  'glm-4.5-flash': usd(0, 0, 0),
  'glm-4-32b-0414-128k': usd(0.1, undefined, 0.1),
};

const NONE: Readonly<Record<string, ModelPrice>> = {};

/**
 * The built-in prices of a vendor preset, chosen by the host its base URL calls: `api.moonshot.ai`
 * and `api.z.ai` (its general path) bill in USD, `api.moonshot.cn` in CNY; `open.bigmodel.cn`, the
 * GLM Coding Plan paths and Kimi Code's `api.kimi.com` (subscriptions) have none built in. A base URL on any other host (a
 * proxy, a test server) is priced as `presetURL`, the vendor URL the preset's own settings select.
 */
export function builtInPrices(
  baseURL: string | undefined,
  presetURL: string,
): Readonly<Record<string, ModelPrice>> {
  return pricesOfHost(baseURL) ?? pricesOfHost(presetURL) ?? NONE;
}

function pricesOfHost(url: string | undefined): Readonly<Record<string, ModelPrice>> | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const { hostname, pathname } = new URL(url);
  switch (hostname) {
    case 'api.moonshot.ai':
      return KIMI_PRICES;
    case 'api.moonshot.cn':
      return KIMI_CN_PRICES;
    case 'api.z.ai':
      return pathname.includes('/coding/') ? NONE : GLM_ZAI_PRICES;
    case 'open.bigmodel.cn':
    case 'api.kimi.com': // Kimi Code, a membership for coding tools: no per-token price
      return NONE;
    default:
      return undefined;
  }
}

/** Tokens per price unit. */
const PER = 1_000_000;

/** The price of `model` on `provider`, when the table has one. */
export function priceOf(
  table: PriceTable | undefined,
  provider: string,
  model: string,
): ModelPrice | undefined {
  // Own keys only: a provider named `constructor` read `Object` here, and model `prototype` its price.
  const byModel = table !== undefined && Object.hasOwn(table, provider) ? table[provider] : undefined;
  return byModel !== undefined && Object.hasOwn(byModel, model) ? byModel[model] : undefined;
}

/**
 * The rates a call is charged at: the last tier whose `fromPromptTokens` its prompt (the vendor's
 * input length, cached tokens included) reaches, else the base rates. The one tier rule, for both
 * the bill (`costOf`) and the estimate (`estimateCost`).
 */
export function ratesFor(price: ModelPrice, promptTokens: number): Rates {
  let rates: Rates = price;
  for (const tier of price.tiers ?? []) if (promptTokens >= tier.fromPromptTokens) rates = tier;
  return rates;
}

/**
 * Money from usage: uncached prompt tokens at `input`, cached ones at `cachedInput` (or `input`),
 * completion tokens at `output`, all at the rates of the prompt's tier. Rounded to 1e-9 of the
 * currency unit, so sums stay readable.
 */
export function costOf(price: ModelPrice, usage: TokenUsage): Cost {
  const rates = ratesFor(price, usage.promptTokens);
  const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens);
  const amount =
    ((usage.promptTokens - cached) * rates.input +
      cached * (rates.cachedInput ?? rates.input) +
      usage.completionTokens * rates.output) /
    PER;
  return { amount: round(amount), currency: price.currency };
}

/** The most a call can cost before it runs: every estimated prompt token uncached, the whole completion budget spent. */
export function estimateCost(price: ModelPrice, prompt: number, completion: number): Cost {
  const rates = ratesFor(price, prompt);
  return {
    amount: round((prompt * rates.input + completion * rates.output) / PER),
    currency: price.currency,
  };
}

export function round(amount: number): number {
  return Math.round(amount * 1e9) / 1e9;
}

/**
 * Validates a price table from configuration; messages point at the field
 * (`prices.kimi.kimi-k2.5.input: Expected a non-negative number, got ...`).
 */
export function checkPriceTable(value: unknown, where = 'prices'): PriceTable {
  if (!isRecord(value)) throw bad(where, 'an object of providers', value);
  const table: Record<string, Record<string, ModelPrice>> = {};
  for (const [provider, models] of Object.entries(value)) {
    if (!isRecord(models)) throw bad(`${where}.${provider}`, 'an object of models', models);
    const byModel: Record<string, ModelPrice> = {};
    for (const [model, price] of Object.entries(models))
      define(byModel, model, checkPrice(price, `${where}.${provider}.${model}`));
    define(table, provider, byModel);
  }
  return table;
}

export function checkPrice(value: unknown, where: string): ModelPrice {
  if (!isRecord(value))
    throw bad(where, 'a price object ({ input, output, cachedInput?, currency?, tiers? })', value);
  const unknown = Object.keys(value).filter((k) => !PRICE_FIELDS.has(k));
  if (unknown.length > 0) throw bad(where, 'only input, output, cachedInput, currency and tiers', unknown);
  const currency = value.currency ?? 'USD';
  if (typeof currency !== 'string' || !isCurrencyCode(currency))
    throw bad(`${where}.currency`, 'an ISO 4217 currency code such as USD or CNY', currency);
  const price: ModelPrice = { ...checkRates(value, where), currency };
  if (value.tiers === undefined) return price;
  return { ...price, tiers: checkTiers(value.tiers, `${where}.tiers`) };
}

const PRICE_FIELDS = new Set(['input', 'output', 'cachedInput', 'currency', 'tiers']);
const TIER_FIELDS = new Set(['fromPromptTokens', 'input', 'output', 'cachedInput']);

function checkRates(value: Record<string, unknown>, where: string): Rates {
  for (const field of ['input', 'output', 'cachedInput'] as const) {
    const n = value[field];
    if (field === 'cachedInput' && n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
      throw bad(`${where}.${field}`, 'a non-negative number (per million tokens)', n);
  }
  const rates = { input: value.input as number, output: value.output as number };
  return value.cachedInput === undefined ? rates : { ...rates, cachedInput: value.cachedInput as number };
}

function checkTiers(value: unknown, where: string): readonly PriceTier[] {
  if (!Array.isArray(value) || value.length === 0)
    throw bad(where, 'a non-empty array of { fromPromptTokens, input, output, cachedInput? }', value);
  let previous = 0;
  return value.map((tier: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isRecord(tier))
      throw bad(at, 'a tier object ({ fromPromptTokens, input, output, cachedInput? })', tier);
    const unknown = Object.keys(tier).filter((k) => !TIER_FIELDS.has(k));
    if (unknown.length > 0) throw bad(at, 'only fromPromptTokens, input, output and cachedInput', unknown);
    const from = tier.fromPromptTokens;
    if (typeof from !== 'number' || !Number.isSafeInteger(from) || from <= previous)
      throw bad(
        `${at}.fromPromptTokens`,
        `an integer above ${previous} (tiers ascend; below the first, the base rates apply)`,
        from,
      );
    previous = from;
    return { fromPromptTokens: from, ...checkRates(tier, at) };
  });
}

/**
 * The table for the configured providers: per provider, its built-in prices with the configured
 * ones (checked, `where` names them in messages) added or replacing them.
 */
export function priceTableOf(
  entries: readonly (readonly [
    name: string,
    builtIn: Readonly<Record<string, ModelPrice>>,
    configured: Readonly<Record<string, unknown>> | undefined,
    where: string,
  ])[],
): PriceTable {
  const table: Record<string, Record<string, ModelPrice>> = {};
  for (const [name, builtIn, configured, where] of entries) {
    const models: Record<string, ModelPrice> = { ...builtIn };
    for (const [model, price] of Object.entries(configured ?? {}))
      define(models, model, checkPrice(price, `${where}.prices.${model}`));
    if (Object.keys(models).length > 0) define(table, name, models);
  }
  return table;
}

/**
 * Sets `key` as an own property: assigned, a model named `__proto__` (an own key of the JSON the
 * providers file parses to) set the table's prototype, and until 2026-12-07 that model was served
 * unpriced (no cost counted, no budget charged).
 */
function define<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(where: string, expected: string, got: unknown) {
  return runtimeError('INVALID_REQUEST', `${where}: Expected ${expected}, got ${describe(got)}`);
}
