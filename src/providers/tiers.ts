/**
 * Limits in a provider's own units as the providers file gives them, and Moonshot's published
 * tiers. Source: Moonshot platform docs, "Recharge and Rate Limits"
 * (https://platform.moonshot.ai/docs/pricing/limits, read 2026-12-01); cited in docs/providers.md.
 */
import { z } from 'zod';
import { runtimeError } from '../core/errors.js';

const limit = z
  .number({ error: 'a number' })
  .int({ error: 'an integer' })
  .positive({ error: 'a positive integer' });
/** The providers file's fields for limits in a provider's own units. */
export const rateFields = {
  requestsPerMinute: limit.optional(),
  tokensPerMinute: limit.optional(),
  tokensPerDay: limit.optional(),
};
/** What a 429 pauses: the provider, or only the model it came for (docs/runtime.md, "Limits"). */
export const cooldownScope = z.enum(['provider', 'model'], { error: '`provider` or `model`' }).optional();
/** Limits of single models, by model id (docs/providers.md, "Limits"). */
export const modelLimits = z
  .record(
    z.string(),
    z.strictObject({ maxConcurrent: limit.optional(), ...rateFields }, { error: 'an object of limits' }),
    { error: 'an object of limits by model id' },
  )
  .optional();

export interface RateLimitFields {
  readonly maxConcurrent?: number;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly tokensPerDay?: number;
}

export interface ProviderRateLimits extends RateLimitFields {
  readonly models?: Readonly<Record<string, RateLimitFields>>;
}

/** Moonshot's tiers by cumulative top-up ($1, $10, $20, $100, $1,000, $3,000); "unlimited" is no field. */
export const KIMI_TIERS: readonly RateLimitFields[] = [
  { maxConcurrent: 1, requestsPerMinute: 3, tokensPerMinute: 500_000, tokensPerDay: 1_500_000 },
  { maxConcurrent: 50, requestsPerMinute: 200, tokensPerMinute: 2_000_000 },
  { maxConcurrent: 100, requestsPerMinute: 500, tokensPerMinute: 3_000_000 },
  { maxConcurrent: 200, requestsPerMinute: 5_000, tokensPerMinute: 3_000_000 },
  { maxConcurrent: 400, requestsPerMinute: 5_000, tokensPerMinute: 4_000_000 },
  { maxConcurrent: 1_000, requestsPerMinute: 10_000, tokensPerMinute: 5_000_000 },
];

const FIELDS = ['maxConcurrent', 'requestsPerMinute', 'tokensPerMinute', 'tokensPerDay'] as const;

/**
 * A provider's limits: its tier's numbers (Kimi), then each field set explicitly over them;
 * `undefined` when nothing is limited.
 */
export function rateLimitsOf(
  fields: RateLimitFields & { readonly modelLimits?: Readonly<Record<string, RateLimitFields>> },
  tier?: number,
): ProviderRateLimits | undefined {
  const out: { -readonly [K in keyof ProviderRateLimits]: ProviderRateLimits[K] } = {
    ...(tier === undefined ? {} : KIMI_TIERS[tier]),
  };
  for (const field of FIELDS) if (fields[field] !== undefined) out[field] = fields[field];
  if (fields.modelLimits !== undefined && Object.keys(fields.modelLimits).length > 0)
    out.models = fields.modelLimits;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The runtime's global concurrency default (`limits.maxConcurrent`), which bounds a provider without its own limit. */
const RUNTIME_DEFAULT_CONCURRENCY = 64;
/** The transport's own default pool size. */
const DEFAULT_SOCKETS = 16;

/**
 * The connection pool a provider gets: never smaller than the concurrency it must carry, so a
 * session the runtime admitted never waits for a socket while shown `running` (its deadline would
 * pass in a queue nobody sees). Without `maxSockets`: the larger of 16 and `maxConcurrent` (or the
 * runtime's default of 64 when the provider has no limit). A `maxSockets` below `maxConcurrent` is refused.
 */
export function poolSize(
  where: string,
  maxSockets: number | undefined,
  maxConcurrent: number | undefined,
): number {
  if (maxSockets !== undefined && maxConcurrent !== undefined && maxSockets < maxConcurrent) {
    throw runtimeError(
      'INVALID_REQUEST',
      `${where}.maxSockets: Expected at least \`maxConcurrent\` (${maxConcurrent}) sockets, got ${maxSockets}: sessions beyond the pool would wait for a socket while shown running`,
    );
  }
  return maxSockets ?? Math.max(DEFAULT_SOCKETS, maxConcurrent ?? RUNTIME_DEFAULT_CONCURRENCY);
}

/** A provider's limits in the providers file: its own, its models', and what a 429 pauses. */
export const limitFields = {
  maxConcurrent: limit.optional(),
  ...rateFields,
  modelLimits,
  cooldownScope,
};
