/**
 * Providers from the environment and an optional JSON file. Keys only ever come from the
 * environment: the file names the variable (`apiKeyEnv`), never the key. With no key set at all,
 * the simulated provider serves, and `simulated: true` says so.
 */

import { z } from 'zod';
import { describe, runtimeError } from '../core/errors.js';
import { checkedKey } from './api-key.js';
import { hasCredentials, hasQuery, NO_CREDENTIALS, NO_QUERY, shownUrl } from './base-url.js';
import { modelSchema, pricesSchema, unknownFallbackProvider } from './config-schema.js';
import { envEndpoint, PROVIDER_NAME } from './env-endpoint.js';
import { firstSet, isTrue } from './env-values.js';
import { GLM_BASE_URL_VARS, GLM_MODELS, glmBaseURL, glmKeyFrom } from './glm-catalog.js';
import { readJsonFile } from './json-file.js';
import {
  KIMI_BASE_URL,
  KIMI_BASE_URL_VARS,
  KIMI_CN_BASE_URL,
  KIMI_MODELS,
  kimiKeyFrom,
} from './kimi-catalog.js';
import type { OpenAICompatibleProvider } from './openai-compatible.js';
import type { ChatProvider } from './port.js';
import { builtInPrices, type PriceTable, priceTableOf } from './prices.js';
import { createModelRegistry, type ModelRegistry, type ModelSpec, type ProviderEntry } from './registry.js';
import type { IgnoredSetting } from './simulated.js';
import { createSimulatedProvider, ignoredDefaults, SIMULATED_MODELS } from './simulated.js';
import { limitFields, type ProviderRateLimits, poolSize, rateLimitsOf } from './tiers.js';

export { poolSize } from './tiers.js';

type Env = Readonly<Record<string, string | undefined>>;

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

export interface LoadedProviders {
  readonly providers: ChatProvider[];
  readonly registry: ModelRegistry;
  readonly perProviderLimits: Record<string, number>;
  /** Limits in each provider's own units (`limits.providers` of `createRuntime`). */
  readonly providerLimits: Record<string, ProviderRateLimits>;
  readonly defaults: { readonly provider?: string; readonly model?: string };
  /** Prices by provider and model: the built-in ones for the host in use, with the file's over them. */
  readonly prices: PriceTable;
  /** True when no key was set and the simulated provider serves instead. */
  readonly simulated: boolean;
  /**
   * Defaults that do not apply, for the caller to say at start: with no key set, a default
   * provider other than `simulated`, or a default model the simulated provider lacks.
   */
  readonly ignored: readonly IgnoredSetting[];
  /** Closes every provider's pooled connections. */
  close(): Promise<void>;
}

export interface LoadOptions {
  /** @default process.env */
  readonly env?: Env;
  /** A JSON providers file. @default env.TROUPE_PROVIDERS_FILE, else none */
  readonly configPath?: string;
}

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
  const kind = issue.expected === 'record' ? 'object' : issue.expected;
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
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

async function readProvidersFile(path: string): Promise<ProvidersFile> {
  return parseProvidersFile(await readJsonFile(path), path);
}

/** The catalogue with the file's models: same id replaces, new ids are added after. */
export function mergeModels(base: readonly ModelSpec[], extra: readonly ModelSpec[]): ModelSpec[] {
  const byId = new Map(extra.map((m) => [m.id, m]));
  const merged = base.map((m) => byId.get(m.id) ?? m);
  for (const m of extra) if (!base.some((b) => b.id === m.id)) merged.push(m);
  return merged;
}

export async function loadProviders(options: LoadOptions = {}): Promise<LoadedProviders> {
  const env = options.env ?? process.env;
  const path = options.configPath ?? env.TROUPE_PROVIDERS_FILE;
  const file: ProvidersFile = path ? await readProvidersFile(path) : {};
  const providers: ChatProvider[] = [];
  const entries: ProviderEntry[] = [];
  const limits: Record<string, number> = {};
  const rates: Record<string, ProviderRateLimits> = {};
  // The adapters (and with them the `openai` SDK and undici) load only for a provider that has its
  // key: with none set, the simulated provider answers and a start loads neither.
  const add = async (
    entry: ProviderEntry,
    create: () => Promise<ChatProvider>,
    rateLimits?: ProviderRateLimits,
  ) => {
    if (entries.some((e) => e.name === entry.name)) {
      throw runtimeError('INVALID_REQUEST', `Expected unique provider names, got \`${entry.name}\` twice`);
    }
    entries.push(entry);
    if (!entry.configured) return;
    providers.push(await create());
    if (rateLimits === undefined) return;
    rates[entry.name] = rateLimits;
    if (rateLimits.maxConcurrent !== undefined) limits[entry.name] = rateLimits.maxConcurrent;
  };

  // A pool is checked whether or not its provider's key is set, and names the file: checked only as
  // the adapter was made, a file that `troupe models` and `troupe config` took without a key stopped
  // the start once a key was set (until 2026-12-06), with a line that did not say which file.
  const field = (name: string) => (path ? `${path}: ${name}` : name);
  const kimiKey = kimiKeyFrom(env);
  const kimi = file.kimi ?? {};
  const kimiModels = mergeModels(KIMI_MODELS, (kimi.models ?? []) as ModelSpec[]);
  const kimiBase = kimi.baseURL ?? firstSet(env, KIMI_BASE_URL_VARS);
  const kimiLimits = rateLimitsOf(kimi, kimi.tier);
  const kimiSockets = poolSize(field('kimi'), kimi.maxSockets, kimiLimits?.maxConcurrent);
  await add(
    {
      name: 'kimi',
      configured: kimiKey !== undefined,
      models: kimiModels,
      openModels: kimi.strictModels !== true,
      hint: 'set MOONSHOT_API_KEY or KIMI_API_KEY',
      ...(kimi.defaultModel === undefined ? {} : { defaultModel: kimi.defaultModel }),
    },
    async () =>
      (await import('./kimi.js')).createKimiProvider({
        apiKey: kimiKey as string,
        models: kimiModels,
        ...(kimi.region === undefined ? {} : { region: kimi.region }),
        ...(kimiBase === undefined ? {} : { baseURL: kimiBase }),
        ...(kimi.cooldownScope === undefined ? {} : { cooldownScope: kimi.cooldownScope }),
        maxSockets: kimiSockets,
      }),
    kimiLimits,
  );
  const glmKey = glmKeyFrom(env);
  const glm = file.glm ?? {};
  const glmHost = glm.host ?? glmKey?.host ?? 'bigmodel';
  const glmModels = mergeModels(GLM_MODELS, (glm.models ?? []) as ModelSpec[]);
  const glmBase = glm.baseURL ?? firstSet(env, ['GLM_BASE_URL', GLM_BASE_URL_VARS[glmHost]]);
  const codingPlan = glm.codingPlan ?? isTrue(env, 'GLM_CODING_PLAN');
  const glmSockets = poolSize(field('glm'), glm.maxSockets, glm.maxConcurrent);
  await add(
    {
      name: 'glm',
      configured: glmKey !== undefined,
      models: glmModels,
      openModels: glm.strictModels !== true,
      hint: 'set ZHIPUAI_API_KEY (BigModel host), ZAI_API_KEY or GLM_API_KEY (Z.ai host)',
      ...(glm.defaultModel === undefined ? {} : { defaultModel: glm.defaultModel }),
    },
    async () =>
      (await import('./glm.js')).createGlmProvider({
        apiKey: glmKey?.apiKey as string,
        host: glmHost,
        codingPlan,
        models: glmModels,
        ...(glmBase === undefined ? {} : { baseURL: glmBase }),
        ...(glm.cooldownScope === undefined ? {} : { cooldownScope: glm.cooldownScope }),
        maxSockets: glmSockets,
      }),
    rateLimitsOf(glm),
  );
  const endpoint = envEndpoint(env);
  const unknown = unknownFallbackProvider(file, endpoint?.name);
  if (unknown !== undefined) {
    await Promise.all(providers.map((p) => p.close?.()));
    throw runtimeError('INVALID_REQUEST', `${path}: ${unknown}`);
  }
  if (endpoint !== undefined) {
    const { apiKey } = endpoint;
    await add(
      {
        name: endpoint.name,
        configured: apiKey !== undefined,
        models: endpoint.models,
        hint: 'set TROUPE_OPENAI_API_KEY',
      },
      async () =>
        (await import('./openai-compatible.js')).createOpenAICompatibleProvider({
          name: endpoint.name,
          baseURL: endpoint.baseURL,
          apiKey: apiKey as string,
          models: endpoint.models,
          maxSockets: poolSize('TROUPE_OPENAI', undefined, undefined),
        }),
    );
  }
  for (const [index, spec] of (file.providers ?? []).entries()) {
    // A built-in's name: the clash said "got `kimi` twice" of a name written once, without the file.
    const builtIn = ['kimi', 'glm', 'simulated', endpoint?.name].includes(spec.name);
    if (builtIn || entries.some((e) => e.name === spec.name))
      throw runtimeError(
        'INVALID_REQUEST',
        `${path}: providers[${index}].name: Expected a name of its own, got \`${spec.name}\`, ${builtIn ? "a built-in provider's (configure kimi and glm in the file's own `kimi` and `glm` sections)" : 'the name of an entry before it'}`,
      );
    const given = env[spec.apiKeyEnv]?.trim();
    const apiKey = given ? checkedKey(spec.apiKeyEnv, given) : undefined;
    const models = (spec.models ?? []) as ModelSpec[];
    const maxSockets = poolSize(field(`providers[${index}]`), spec.maxSockets, spec.maxConcurrent);
    await add(
      {
        name: spec.name,
        configured: Boolean(apiKey),
        models,
        hint: `set ${spec.apiKeyEnv}`,
        ...(spec.defaultModel === undefined ? {} : { defaultModel: spec.defaultModel }),
      },
      async () =>
        (await import('./openai-compatible.js')).createOpenAICompatibleProvider({
          name: spec.name,
          baseURL: spec.baseURL,
          apiKey: apiKey as string,
          models,
          ...(spec.headers === undefined ? {} : { defaultHeaders: spec.headers }),
          ...(spec.cooldownScope === undefined ? {} : { cooldownScope: spec.cooldownScope }),
          maxSockets,
        }),
      rateLimitsOf(spec),
    );
  }

  // Built-in prices by the host each preset calls (prices.ts); the file's add to or replace them.
  const kimiPreset = kimi.region === 'cn' ? KIMI_CN_BASE_URL : KIMI_BASE_URL;
  const prices = priceTableOf([
    ['kimi', builtInPrices(kimiBase, kimiPreset), kimi.prices, 'kimi'],
    ['glm', builtInPrices(glmBase, glmBaseURL(glmHost, codingPlan)), glm.prices, 'glm'],
    ...(file.providers ?? []).map((p, i) => [p.name, {}, p.prices, `providers[${i}]`] as const),
  ]);
  const simulated = providers.length === 0;
  if (simulated) {
    const models = SIMULATED_MODELS.map((m) => ({
      id: m.id,
      contextWindow: m.contextWindow,
      capabilities: { thinking: m.reasoning },
    }));
    entries.unshift({ name: 'simulated', configured: true, models });
    providers.push(createSimulatedProvider());
  }
  const from = (key: 'provider' | 'model') =>
    file.defaults?.[key] === undefined ? `TROUPE_DEFAULT_${key.toUpperCase()}` : `${path}: defaults.${key}`;
  // A default naming no provider was ignored unseen (calls went to the first configured one).
  const wanted = file.defaults?.provider ?? (env.TROUPE_DEFAULT_PROVIDER?.trim() || undefined);
  if (wanted !== undefined && !entries.some((e) => e.name === wanted)) {
    const known = entries.map((e) => `\`${e.name}\``).join(', ');
    const message = `${from('provider')}: Expected a provider (${known}), got ${describe(wanted)}`;
    throw runtimeError('INVALID_REQUEST', message);
  }
  const asked = file.defaults?.model ?? (env.TROUPE_DEFAULT_MODEL?.trim() || undefined);
  // A default model alone goes where it is listed (until 2026-12-07: the first provider, whatever it served).
  const lists = entries.find((e) => e.configured && e.models.some((m) => m.id === asked))?.name;
  const defaultProvider = simulated ? 'simulated' : (wanted ?? lists ?? providers[0]?.name);
  // With no key, a simulated model id is honoured; any other default is said, not dropped unseen.
  const model = simulated && !SIMULATED_MODELS.some((m) => m.id === asked) ? undefined : asked;
  const ignored = ignoredDefaults(simulated, entries, wanted, asked, from);
  const registry = createModelRegistry(entries, {
    ...(defaultProvider === undefined ? {} : { defaultProvider }),
    ...(model === undefined ? {} : { defaultModel: model }),
    fetchModels: async (name, signal) => {
      const provider: Partial<OpenAICompatibleProvider> | undefined = providers.find((p) => p.name === name);
      if (provider?.listModelInfo !== undefined) return provider.listModelInfo({ signal });
      return provider?.listModels === undefined ? [] : provider.listModels({ signal });
    },
  });
  const defaults = {
    ...(defaultProvider === undefined ? {} : { provider: defaultProvider }),
    ...(model === undefined ? {} : { model }),
  };
  return {
    providers,
    registry,
    perProviderLimits: limits,
    providerLimits: rates,
    defaults,
    prices,
    simulated,
    ignored,
    close: async () => {
      await Promise.all(providers.map((p) => p.close?.()));
    },
  };
}
