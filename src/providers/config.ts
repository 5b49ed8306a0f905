/**
 * Providers from the environment and an optional JSON file. Keys only ever come from the
 * environment: the file names the variable (`apiKeyEnv`), never the key. With no key set at all,
 * the simulated provider serves, and `simulated: true` says so.
 */

import { describe, runtimeError } from '../core/errors.js';
import { checkedKey } from './api-key.js';
import { unknownFallbackProvider } from './config-schema.js';
import { envEndpoint } from './env-endpoint.js';
import { firstSet, isTrue } from './env-values.js';
import { GLM_BASE_URL_VARS, GLM_MODELS, glmBaseURL, glmKeyFrom } from './glm-catalog.js';
import { checkedHeaders } from './header-secrets.js';
import { type IgnoredSetting, ignoredDefaults } from './ignored-defaults.js';
import { keyInModels } from './key-in-models.js';
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
import { type ProvidersFile, readProvidersFile } from './providers-file.js';
import { createModelRegistry, type ModelRegistry, type ModelSpec, type ProviderEntry } from './registry.js';
import { createSimulatedProvider, SIMULATED_MODELS } from './simulated.js';
import { type ProviderRateLimits, poolSize, rateLimitsOf } from './tiers.js';

// The providers file's schema and parsing live in providers-file.ts; these were exported here first.
export {
  notAnObject,
  type ProvidersFile,
  parseProvidersFile,
  providersFileSchema,
} from './providers-file.js';
export { poolSize } from './tiers.js';

type Env = Readonly<Record<string, string | undefined>>;

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
   * provider other than `simulated`, or a default model the simulated provider lacks; with keys
   * set, a default provider with no key, or a default model only providers with no key list.
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
  const keys = [kimiKey, glmKey?.apiKey, endpoint?.apiKey];
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
    checkedHeaders(field(`providers[${index}].headers`), spec.headers);
    keys.push(apiKey);
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
          ...(spec.maxTokensField === undefined
            ? {}
            : { capabilities: { maxTokensField: spec.maxTokensField } }),
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
  const keyShown = keyInModels(keys, entries, asked, from('model'));
  if (keyShown !== undefined) {
    await Promise.all(providers.map((p) => p.close?.()));
    throw runtimeError('INVALID_REQUEST', keyShown);
  }
  // A default model alone goes where it is listed (until 2026-12-07: the first provider, whatever it served).
  const lists = entries.find((e) => e.configured && e.models.some((m) => m.id === asked))?.name;
  const defaultProvider = simulated ? 'simulated' : (wanted ?? lists ?? providers[0]?.name);
  // With no key, a simulated model id is honoured; any other default is said, not dropped unseen.
  const model = simulated && !SIMULATED_MODELS.some((m) => m.id === asked) ? undefined : asked;
  const ignored = ignoredDefaults(simulated, entries, wanted, asked, from, defaultProvider);
  // Each adapter by name, looked up as a session is routed (its stated windows) and models are listed.
  const adapters = new Map<string, Partial<OpenAICompatibleProvider>>(providers.map((p) => [p.name, p]));
  const registry = createModelRegistry(entries, {
    ...(defaultProvider === undefined ? {} : { defaultProvider }),
    ...(model === undefined ? {} : { defaultModel: model }),
    learnedWindow: (name, model) => adapters.get(name)?.learnedWindow?.(model),
    fetchModels: async (name, signal) => {
      const provider = adapters.get(name);
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
