/**
 * The providers file: its schema, and its parsing into the messages `troupe` shows (each names its
 * field, and never echoes a key, a header value or a URL's credentials). What the file's sections
 * make of the providers, beside the environment's keys, is `loadProviders` (config.ts).
 */

import { z } from 'zod';
import { describe, runtimeError } from '../core/errors.js';
import { typeNoun } from '../core/type-noun.js';
import { hasCredentials, hasQuery, NO_CREDENTIALS, NO_QUERY, shownUrl } from './base-url.js';
import { modelSchema, pricesSchema } from './config-schema.js';
import { PROVIDER_NAME } from './env-endpoint.js';
import { readJsonFile } from './json-file.js';
import { limitFields } from './tiers.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const limit = z
  .number({ error: 'a number' })
  .int({ error: 'an integer' })
  .positive({ error: 'a positive integer' });
const baseURL = z
  .url({ protocol: /^https?$/, error: 'an http(s) URL' })
  .refine((url) => !hasCredentials(url), { error: NO_CREDENTIALS })
  .refine((url) => !hasQuery(url), { error: NO_QUERY });
const providerSchema = z.strictObject({
  name: z
    .string({ error: 'a name string' })
    .regex(PROVIDER_NAME, { error: 'a name of letters, digits, - and _' }),
  baseURL,
  apiKeyEnv: z.string({ error: 'SECRET' }).regex(ENV_NAME, { error: 'SECRET' }),
  models: z.array(modelSchema, { error: 'an array of models' }).optional(),
  defaultModel: z.string({ error: 'a model id string' }).optional(),
  ...limitFields,
  maxSockets: limit.optional(),
  headers: z
    .record(z.string(), z.string({ error: 'a string header value' }), { error: 'an object of headers' })
    .optional(),
  prices: pricesSchema,
  /**
   * The body field a request's `max_tokens` goes out as: OpenAI's reasoning models refuse
   * `max_tokens` and take `max_completion_tokens` (its SDK: `max_tokens` "is not compatible with
   * o-series models"). @default 'max_tokens'
   */
  maxTokensField: z
    .enum(['max_tokens', 'max_completion_tokens'], { error: '`max_tokens` or `max_completion_tokens`' })
    .optional(),
});
const presetFields = {
  baseURL: baseURL.optional(),
  ...limitFields,
  maxSockets: limit.optional(),
  /** Added to the built-in catalogue, or replacing the entry with the same id. */
  models: z.array(modelSchema, { error: 'an array of models' }).optional(),
  /** Only listed models are accepted (anything else is MODEL_NOT_FOUND before any call). */
  strictModels: z.boolean({ error: 'a boolean' }).optional(),
  defaultModel: z.string({ error: 'a model id string' }).optional(),
  /** Added to the built-in prices, or replacing the model's price. */
  prices: pricesSchema,
};
const kimiSchema = z.strictObject({
  ...presetFields,
  region: z.enum(['global', 'cn'], { error: '`global` or `cn`' }).optional(),
  /** Moonshot's rate-limit tier, 0 to 5 (`tiers.ts`); explicit fields override its numbers. */
  tier: z
    .number({ error: 'a tier from 0 to 5' })
    .int({ error: 'a tier from 0 to 5' })
    .min(0, { error: 'a tier from 0 to 5' })
    .max(5, { error: 'a tier from 0 to 5' })
    .optional(),
});
const glmSchema = z.strictObject({
  ...presetFields,
  host: z.enum(['bigmodel', 'zai'], { error: '`bigmodel` or `zai`' }).optional(),
  codingPlan: z.boolean({ error: 'a boolean' }).optional(),
});
export const providersFileSchema = z.strictObject({
  providers: z.array(providerSchema, { error: 'an array of providers' }).optional(),
  kimi: kimiSchema.optional(),
  glm: glmSchema.optional(),
  defaults: z.strictObject({ provider: z.string().optional(), model: z.string().optional() }).optional(),
  // Limits and deadlines for `troupe serve`/`stdio`; validated field by field in src/cli/config.ts.
  runtime: z.record(z.string(), z.unknown()).optional(),
});
export type ProvidersFile = z.infer<typeof providersFileSchema>;

/** Validates a parsed providers file; messages point at the field: `providers[1].baseURL: Expected ...`. */
export function parseProvidersFile(value: unknown, source = 'providers file'): ProvidersFile {
  const notObject = notAnObject(value, source); // zod's words for `null`: "Expected Invalid input: …"
  if (notObject !== undefined) throw runtimeError('INVALID_REQUEST', notObject);
  const parsed = providersFileSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.slice(0, 5).map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `\`${k}\``).join(', ');
      const hint = issue.keys.some((k) => /key|token|secret/i.test(k))
        ? ' (keys belong in the environment: name the variable in `apiKeyEnv`)'
        : '';
      return `${path || '(top level)'}: Expected only known fields, got ${keys}${hint}`;
    }
    // JSON has no `undefined`: an input of undefined is a field left out.
    const missing = issue.input === undefined;
    // Never echo what was in `apiKeyEnv`: a pasted key is the likeliest mistake there.
    if (issue.message === 'SECRET') {
      return `${path}: Expected the NAME of the environment variable that holds the key (e.g. MY_API_KEY), got ${missing ? 'none' : 'a value that is not one (not shown)'}`;
    }
    // Nor a header's value: `api-key` and the like carry keys (header-secrets.ts).
    if (issue.path.includes('headers')) {
      return `${path}: Expected ${expected(issue)}, got ${missing ? 'none' : `${kindOf(issue.input)} (not shown: header values may hold keys)`}`;
    }
    // Nor a URL's user and password, query or fragment, nor a base URL that is no URL (`shownUrl`).
    const url = typeof issue.input === 'string' && issue.path.at(-1) === 'baseURL';
    const input = url ? shownUrl(issue.input as string) : describe(issue.input);
    return `${path || '(top level)'}: Expected ${expected(issue)}, got ${missing ? 'none' : input}`;
  });
  throw runtimeError('INVALID_REQUEST', `${source}: ${lines.join('; ')}`);
}

/** Why a providers file's JSON (from `source`) is not an object at its top level; `undefined` when it is. */
export function notAnObject(value: unknown, source: string): string | undefined {
  const kind = kindOf(value);
  return kind === 'an object' ? undefined : `${source}: Expected a JSON object at the top level, got ${kind}`;
}

/**
 * What a field should have been: the schema's own words, or for a field that has none (a section,
 * a model entry) the type zod expected, not its "Invalid input: expected object, received string".
 */
function expected(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_type' || !issue.message.startsWith('Invalid input')) return issue.message;
  return typeNoun(issue.expected);
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

export async function readProvidersFile(path: string): Promise<ProvidersFile> {
  return parseProvidersFile(await readJsonFile(path), path);
}
