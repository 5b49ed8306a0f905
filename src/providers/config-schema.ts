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

type FileModels = readonly { readonly fallbacks?: readonly { readonly provider?: string }[] | undefined }[];
interface FileSections {
  readonly kimi?: { readonly models?: FileModels | undefined } | undefined;
  readonly glm?: { readonly models?: FileModels | undefined } | undefined;
  readonly providers?:
    | readonly { readonly name: string; readonly models?: FileModels | undefined }[]
    | undefined;
}

/**
 * The first fallback of the file's models that names a provider neither the file nor the
 * environment (`TROUPE_OPENAI_NAME`'s endpoint, `endpoint`) defines, as
 * `<where>.models[i].fallbacks[j].provider: Expected ...`; `undefined` when none does. Every target
 * is resolved as a call is submitted, so such a typo passed `troupe models` and the start, and then
 * every call to that model was refused, in a line naming only `fallbacks[j]` (until 2026-12-06).
 */
export function unknownFallbackProvider(
  file: FileSections,
  endpoint: string | undefined,
): string | undefined {
  const entries = file.providers ?? [];
  const providers = [
    'kimi',
    'glm',
    ...(endpoint === undefined ? [] : [endpoint]),
    ...entries.map((p) => p.name),
  ];
  const sections = [
    ['kimi', file.kimi?.models],
    ['glm', file.glm?.models],
    ...entries.map((entry, i) => [`providers[${i}]`, entry.models] as const),
  ] as const;
  for (const [where, models] of sections) {
    for (const [i, model] of (models ?? []).entries()) {
      for (const [j, fallback] of (model.fallbacks ?? []).entries()) {
        if (fallback.provider === undefined || providers.includes(fallback.provider)) continue;
        const known = providers.map((name) => `\`${name}\``).join(', ');
        return `${where}.models[${i}].fallbacks[${j}].provider: Expected one of the providers ${known}, got ${JSON.stringify(fallback.provider)}`;
      }
    }
  }
  return undefined;
}
