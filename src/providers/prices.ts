/**
 * What a call costs: a price per model (input, cached input and output, per million tokens, in the
 * currency the vendor bills in) and the one rule that turns reported usage into money. Unknown
 * price: no cost, never a guess.
 *
 * The built-in tables are the vendors' published pay-as-you-go prices for their international
 * hosts, in US dollars (sources and the date they were read: docs/providers.md, "Prices"). The
 * mainland hosts (`api.moonshot.cn`, `open.bigmodel.cn`) bill in yuan at other (for GLM, tiered)
 * prices: troupe ships none for them; give them in the providers file (`prices`).
 */
import { describe, runtimeError } from '../core/errors.js';
import type { TokenUsage } from './port.js';

/** One model's price, per million tokens. */
export interface ModelPrice {
  /** Prompt tokens that missed the vendor's context cache. */
  readonly input: number;
  /** Prompt tokens served from the vendor's context cache. @default `input` */
  readonly cachedInput?: number;
  readonly output: number;
  /** ISO 4217 code of the currency the vendor bills in (`USD`, `CNY`). */
  readonly currency: string;
}

/** Prices by provider name, then model id. */
export type PriceTable = Readonly<Record<string, Readonly<Record<string, ModelPrice>>>>;

/** What a session cost, from the usage its provider reported. */
export interface Cost {
  readonly amount: number;
  readonly currency: string;
}

const usd = (input: number, cachedInput: number | undefined, output: number): ModelPrice =>
  cachedInput === undefined
    ? { input, output, currency: 'USD' }
    : { input, cachedInput, output, currency: 'USD' };

/** Moonshot (platform.moonshot.ai, `api.moonshot.ai`), USD per million tokens, read 2026-12-01. */
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

/** Z.ai (docs.z.ai pricing, `api.z.ai`), USD per million tokens, read 2026-12-01. */
export const GLM_ZAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'glm-5': usd(1.0, 0.2, 3.2),
  'glm-4.7': usd(0.6, 0.11, 2.2),
  'glm-4.6': usd(0.6, 0.11, 2.2),
  'glm-4.5': usd(0.6, 0.11, 2.2),
  'glm-4.5-air': usd(0.2, 0.03, 1.1),
  'glm-4.5-flash': usd(0, 0, 0),
};

/** Tokens per price unit. */
const PER = 1_000_000;

/** The price of `model` on `provider`, when the table has one. */
export function priceOf(
  table: PriceTable | undefined,
  provider: string,
  model: string,
): ModelPrice | undefined {
  const byModel = table?.[provider];
  return byModel !== undefined && Object.hasOwn(byModel, model) ? byModel[model] : undefined;
}

/**
 * Money from usage: uncached prompt tokens at `input`, cached ones at `cachedInput` (or `input`),
 * completion tokens at `output`. Rounded to 1e-9 of the currency unit, so sums stay readable.
 */
export function costOf(price: ModelPrice, usage: TokenUsage): Cost {
  const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens);
  const amount =
    ((usage.promptTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      usage.completionTokens * price.output) /
    PER;
  return { amount: round(amount), currency: price.currency };
}

/** The most a call can cost before it runs: every estimated prompt token uncached, the whole completion budget spent. */
export function estimateCost(price: ModelPrice, prompt: number, completion: number): Cost {
  return {
    amount: round((prompt * price.input + completion * price.output) / PER),
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
    table[provider] = {};
    for (const [model, price] of Object.entries(models)) {
      (table[provider] as Record<string, ModelPrice>)[model] = checkPrice(
        price,
        `${where}.${provider}.${model}`,
      );
    }
  }
  return table;
}

export function checkPrice(value: unknown, where: string): ModelPrice {
  if (!isRecord(value)) throw bad(where, 'a price object ({ input, output, cachedInput?, currency })', value);
  const known = new Set(['input', 'output', 'cachedInput', 'currency']);
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) throw bad(where, 'only input, output, cachedInput and currency', unknown);
  for (const field of ['input', 'output', 'cachedInput'] as const) {
    const n = value[field];
    if (field === 'cachedInput' && n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
      throw bad(`${where}.${field}`, 'a non-negative number (per million tokens)', n);
  }
  const currency = value.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    throw bad(`${where}.currency`, 'a three-letter currency code such as USD or CNY', currency);
  const price = { input: value.input as number, output: value.output as number, currency };
  return value.cachedInput === undefined ? price : { ...price, cachedInput: value.cachedInput as number };
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
      models[model] = checkPrice(price, `${where}.prices.${model}`);
    if (Object.keys(models).length > 0) table[name] = models;
  }
  return table;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(where: string, expected: string, got: unknown) {
  return runtimeError('INVALID_REQUEST', `${where}: Expected ${expected}, got ${describe(got)}`);
}
