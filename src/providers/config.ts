/**
 * Providers from the environment and an optional JSON file. Keys only ever come from the
 * environment: the file names the variable (`apiKeyEnv`), never the key. With no key set at all,
 * the simulated provider serves, and `simulated: true` says so.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { describe, runtimeError } from '../core/errors.js';
import { createGlmProvider, GLM_MODELS, glmKeyFrom } from './glm.js';
import { createKimiProvider, KIMI_MODELS, kimiKeyFrom } from './kimi.js';
import { createOpenAICompatibleProvider } from './openai-compatible.js';
import type { ChatProvider } from './port.js';
import { createModelRegistry, type ModelRegistry, type ModelSpec, type ProviderEntry } from './registry.js';
import { createSimulatedProvider, SIMULATED_MODELS } from './simulated.js';

type Env = Readonly<Record<string, string | undefined>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const modelSchema = z.strictObject({
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
    })
    .optional(),
});
const limit = z
  .number({ error: 'a number' })
  .int({ error: 'an integer' })
  .positive({ error: 'a positive integer' });
const providerSchema = z.strictObject({
  name: z
    .string({ error: 'a name string' })
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, { error: 'a name of letters, digits, - and _' }),
  baseURL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
  apiKeyEnv: z.string({ error: 'SECRET' }).regex(ENV_NAME, { error: 'SECRET' }),
  models: z.array(modelSchema, { error: 'an array of models' }).optional(),
  defaultModel: z.string({ error: 'a model id string' }).optional(),
  maxConcurrent: limit.optional(),
  maxSockets: limit.optional(),
  headers: z
    .record(z.string(), z.string({ error: 'a string header value' }), { error: 'an object of headers' })
    .optional(),
});
const presetSchema = z.strictObject({
  baseURL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
  region: z.enum(['global', 'cn'], { error: '`global` or `cn`' }).optional(),
  host: z.enum(['bigmodel', 'zai'], { error: '`bigmodel` or `zai`' }).optional(),
  maxConcurrent: limit.optional(),
});
export const providersFileSchema = z.strictObject({
  providers: z.array(providerSchema, { error: 'an array of providers' }).optional(),
  kimi: presetSchema.optional(),
  glm: presetSchema.optional(),
  defaults: z.strictObject({ provider: z.string().optional(), model: z.string().optional() }).optional(),
  // Limits and deadlines for `troupe serve`/`stdio`; validated field by field in src/cli/config.ts.
  runtime: z.record(z.string(), z.unknown()).optional(),
});
export type ProvidersFile = z.infer<typeof providersFileSchema>;

export interface LoadedProviders {
  readonly providers: ChatProvider[];
  readonly registry: ModelRegistry;
  readonly perProviderLimits: Record<string, number>;
  readonly defaults: { readonly provider?: string; readonly model?: string };
  /** True when no key was set and the simulated provider serves instead. */
  readonly simulated: boolean;
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
    // Never echo what was in `apiKeyEnv`: a pasted key is the likeliest mistake there.
    if (issue.message === 'SECRET') {
      return `${path}: Expected the NAME of an environment variable (e.g. MY_API_KEY), got a value that is not one (not shown)`;
    }
    return `${path || '(top level)'}: Expected ${issue.message}, got ${describe(issue.input)}`;
  });
  throw runtimeError('INVALID_REQUEST', `${source}: ${lines.join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

async function readProvidersFile(path: string): Promise<ProvidersFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected a readable providers file at ${path}, got ${(error as NodeJS.ErrnoException).code ?? 'an error'}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw runtimeError('INVALID_REQUEST', `${path}: Expected JSON, got text that does not parse`);
  }
  return parseProvidersFile(json, path);
}

/**
 * `TROUPE_OPENAI_BASE_URL`, `TROUPE_OPENAI_API_KEY`, `TROUPE_OPENAI_MODELS` (comma-separated ids,
 * each optionally `id=contextWindow`), `TROUPE_OPENAI_NAME` (@default 'openai').
 */
function envEndpoint(
  env: Env,
): { name: string; baseURL: string; apiKey?: string; models: ModelSpec[] } | undefined {
  const baseURL = env.TROUPE_OPENAI_BASE_URL?.trim();
  if (!baseURL) return undefined;
  if (!URL.canParse(baseURL)) {
    throw runtimeError('INVALID_REQUEST', `TROUPE_OPENAI_BASE_URL: Expected a URL, got ${describe(baseURL)}`);
  }
  const models = (env.TROUPE_OPENAI_MODELS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item): ModelSpec => {
      const [id = '', window] = item.split('=');
      const contextWindow = Number(window);
      return window !== undefined && Number.isInteger(contextWindow) && contextWindow > 0
        ? { id, contextWindow }
        : { id };
    });
  const apiKey = env.TROUPE_OPENAI_API_KEY?.trim();
  return { name: env.TROUPE_OPENAI_NAME?.trim() || 'openai', baseURL, models, ...(apiKey ? { apiKey } : {}) };
}

export async function loadProviders(options: LoadOptions = {}): Promise<LoadedProviders> {
  const env = options.env ?? process.env;
  const path = options.configPath ?? env.TROUPE_PROVIDERS_FILE;
  const file: ProvidersFile = path ? await readProvidersFile(path) : {};
  const providers: ChatProvider[] = [];
  const entries: ProviderEntry[] = [];
  const limits: Record<string, number> = {};
  const add = (entry: ProviderEntry, create: () => ChatProvider, maxConcurrent?: number) => {
    if (entries.some((e) => e.name === entry.name)) {
      throw runtimeError('INVALID_REQUEST', `Expected unique provider names, got \`${entry.name}\` twice`);
    }
    entries.push(entry);
    if (!entry.configured) return;
    providers.push(create());
    if (maxConcurrent !== undefined) limits[entry.name] = maxConcurrent;
  };

  const kimiKey = kimiKeyFrom(env);
  const kimi = file.kimi ?? {};
  add(
    {
      name: 'kimi',
      configured: kimiKey !== undefined,
      models: KIMI_MODELS,
      hint: 'set MOONSHOT_API_KEY or KIMI_API_KEY',
    },
    () =>
      createKimiProvider({
        apiKey: kimiKey as string,
        ...(kimi.region === undefined ? {} : { region: kimi.region }),
        ...((kimi.baseURL ?? env.MOONSHOT_BASE_URL)
          ? { baseURL: (kimi.baseURL ?? env.MOONSHOT_BASE_URL) as string }
          : {}),
      }),
    kimi.maxConcurrent,
  );
  const glmKey = glmKeyFrom(env);
  const glm = file.glm ?? {};
  add(
    {
      name: 'glm',
      configured: glmKey !== undefined,
      models: GLM_MODELS,
      hint: 'set ZHIPUAI_API_KEY, GLM_API_KEY or ZAI_API_KEY',
    },
    () =>
      createGlmProvider({
        apiKey: glmKey?.apiKey as string,
        host: glm.host ?? glmKey?.host ?? 'bigmodel',
        ...((glm.baseURL ?? env.GLM_BASE_URL)
          ? { baseURL: (glm.baseURL ?? env.GLM_BASE_URL) as string }
          : {}),
      }),
    glm.maxConcurrent,
  );
  const endpoint = envEndpoint(env);
  if (endpoint !== undefined) {
    const { apiKey } = endpoint;
    add(
      {
        name: endpoint.name,
        configured: apiKey !== undefined,
        models: endpoint.models,
        hint: 'set TROUPE_OPENAI_API_KEY',
      },
      () =>
        createOpenAICompatibleProvider({
          name: endpoint.name,
          baseURL: endpoint.baseURL,
          apiKey: apiKey as string,
          models: endpoint.models,
        }),
    );
  }
  for (const spec of file.providers ?? []) {
    const apiKey = env[spec.apiKeyEnv]?.trim();
    const models = (spec.models ?? []) as ModelSpec[];
    add(
      {
        name: spec.name,
        configured: Boolean(apiKey),
        models,
        hint: `set ${spec.apiKeyEnv}`,
        ...(spec.defaultModel === undefined ? {} : { defaultModel: spec.defaultModel }),
      },
      () =>
        createOpenAICompatibleProvider({
          name: spec.name,
          baseURL: spec.baseURL,
          apiKey: apiKey as string,
          models,
          ...(spec.headers === undefined ? {} : { defaultHeaders: spec.headers }),
          ...(spec.maxSockets === undefined ? {} : { maxSockets: spec.maxSockets }),
        }),
      spec.maxConcurrent,
    );
  }

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
  const wanted = file.defaults?.provider ?? env.TROUPE_DEFAULT_PROVIDER;
  const defaultProvider = simulated ? 'simulated' : (wanted ?? providers[0]?.name);
  const registry = createModelRegistry(entries, defaultProvider === undefined ? {} : { defaultProvider });
  const model = file.defaults?.model ?? env.TROUPE_DEFAULT_MODEL;
  const defaults = {
    ...(defaultProvider === undefined ? {} : { provider: defaultProvider }),
    ...(model === undefined || simulated ? {} : { model }),
  };
  return {
    providers,
    registry,
    perProviderLimits: limits,
    defaults,
    simulated,
    close: async () => {
      await Promise.all(providers.map((p) => p.close?.()));
    },
  };
}
