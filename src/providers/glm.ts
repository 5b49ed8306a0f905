/**
 * ZhipuAI's GLM, as a preset on the OpenAI-compatible adapter. Two hosts serve it: BigModel
 * (`open.bigmodel.cn`, mainland) and Z.ai (`api.z.ai`, international), with separate keys.
 *
 * Quirks: `thinking: { type: 'enabled' | 'disabled' }` on the 4.5+ models (the port's default
 * mapping is exactly this form); thinking output arrives as `reasoning_content`; the `web_search`
 * tool (`{ type: 'web_search', web_search: {...} }`) passes through `tools` unchanged; usage comes in
 * the last chunk without `stream_options`, which we therefore do not send.
 */
import {
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
  type OpenAICompatibleProvider,
} from './openai-compatible.js';
import type { ModelSpec } from './registry.js';

export const GLM_BIGMODEL_BASE_URL = 'https://open.bigmodel.cn/api/paas/v4';
export const GLM_ZAI_BASE_URL = 'https://api.z.ai/api/paas/v4';
/** Keys for the BigModel host, checked in order. */
export const GLM_KEY_VARS = ['ZHIPUAI_API_KEY', 'GLM_API_KEY'] as const;
/** The key for the Z.ai host. */
export const ZAI_KEY_VAR = 'ZAI_API_KEY';

export type GlmHost = 'bigmodel' | 'zai';

const hybrid = { thinking: true } as const;

/** The GLM family as of early 2026, with context windows in tokens. */
export const GLM_MODELS: readonly ModelSpec[] = [
  { id: 'glm-4.6', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-4.5', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-air', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-x', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-airx', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-flash', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4-plus', contextWindow: 131_072 },
  { id: 'glm-4-air-250414', contextWindow: 131_072 },
  { id: 'glm-4-flash', contextWindow: 131_072 },
  { id: 'glm-4-flashx', contextWindow: 131_072 },
  { id: 'glm-4-long', contextWindow: 1_048_576 },
];

export interface GlmOptions extends Partial<Omit<OpenAICompatibleOptions, 'apiKey'>> {
  readonly apiKey: string;
  /** Which host. Ignored when `baseURL` is given. @default 'bigmodel' */
  readonly host?: GlmHost;
}

export function createGlmProvider(options: GlmOptions): OpenAICompatibleProvider {
  const baseURL = options.baseURL ?? (options.host === 'zai' ? GLM_ZAI_BASE_URL : GLM_BIGMODEL_BASE_URL);
  return createOpenAICompatibleProvider({
    ...options,
    name: options.name ?? 'glm',
    baseURL,
    models: options.models ?? GLM_MODELS,
    capabilities: { streamUsageOption: false, ...(options.capabilities ?? {}) },
  });
}

/**
 * The key and host from the environment: `ZHIPUAI_API_KEY` or `GLM_API_KEY` select BigModel;
 * `ZAI_API_KEY` alone selects Z.ai.
 */
export function glmKeyFrom(
  env: Readonly<Record<string, string | undefined>>,
): { readonly apiKey: string; readonly host: GlmHost } | undefined {
  for (const name of GLM_KEY_VARS) {
    const value = env[name]?.trim();
    if (value) return { apiKey: value, host: 'bigmodel' };
  }
  const zai = env[ZAI_KEY_VAR]?.trim();
  return zai ? { apiKey: zai, host: 'zai' } : undefined;
}
