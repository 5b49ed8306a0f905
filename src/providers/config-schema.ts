/**
 * Field schemas of the providers file shared by its provider entries: a model (with its
 * fallbacks) and a price table. The messages are the "Expected ..." halves `parseProvidersFile` shows.
 */
import { z } from 'zod';
import { MAX_FALLBACKS } from '../core/metadata.js';

export const modelSchema = z.strictObject({
  id: z.string({ error: 'a model id string' }).min(1, { error: 'a non-empty model id' }),
  contextWindow: z
    .number({ error: 'a token count' })
    .int({ error: 'an integer' })
    .positive({ error: 'a positive integer' })
    .optional(),
  capabilities: z
    .strictObject({
      streaming: z.boolean({ error: 'a boolean' }).optional(),
      tools: z.boolean({ error: 'a boolean' }).optional(),
      thinking: z.boolean({ error: 'a boolean' }).optional(),
      files: z.boolean({ error: 'a boolean' }).optional(),
      vision: z.boolean({ error: 'a boolean' }).optional(),
    })
    .optional(),
  defaultMaxTokens: z
    .number({ error: 'a token count' })
    .int({ error: 'an integer' })
    .positive({ error: 'a positive integer' })
    .optional(),
  // Where a request for this model goes when it cannot be served (docs/routing.md).
  fallbacks: z
    .array(
      z.strictObject({
        provider: z
          .string({ error: 'a provider name' })
          .min(1, { error: 'a non-empty provider name' })
          .optional(),
        model: z.string({ error: 'a model id string' }).min(1, { error: 'a non-empty model id' }),
      }),
      { error: 'an array of { provider?, model }' },
    )
    .max(MAX_FALLBACKS, { error: `at most ${MAX_FALLBACKS} fallbacks` })
    .optional(),
});
/** Per model id, per million tokens; checked field by field in `priceTableOf`. */
export const pricesSchema = z
  .record(z.string(), z.unknown(), { error: 'an object of prices by model id' })
  .optional();
