/**
 * What troupe knows of ZhipuAI's GLM without loading an HTTP client: its hosts, its key and base-URL
 * variables and its model list. `loadProviders` reads these for every start; `glm.ts` (the adapter,
 * which loads the `openai` SDK and undici) only when a GLM key is set.
 */

import { checkedKey, MAX_VENDOR_KEY_CHARS } from './api-key.js';
import type { ModelSpec } from './registry.js';

export const GLM_BIGMODEL_BASE_URL = 'https://open.bigmodel.cn/api/paas/v4';
export const GLM_ZAI_BASE_URL = 'https://api.z.ai/api/paas/v4';
/** The GLM Coding Plan hosts: the same API under `/api/coding/paas/v4`, billed to the plan. */
export const GLM_BIGMODEL_CODING_BASE_URL = 'https://open.bigmodel.cn/api/coding/paas/v4';
export const GLM_ZAI_CODING_BASE_URL = 'https://api.z.ai/api/coding/paas/v4';

export type GlmHost = 'bigmodel' | 'zai';

/**
 * Key variables, checked in this order, and the host each selects: `ZHIPUAI_API_KEY` is the
 * BigModel (mainland) SDK's variable; `ZAI_API_KEY` is the Z.ai SDK's; `GLM_API_KEY` is used by
 * most tools for the international Z.ai host.
 */
export const GLM_KEY_VARS: readonly { readonly name: string; readonly host: GlmHost }[] = [
  { name: 'ZHIPUAI_API_KEY', host: 'bigmodel' },
  { name: 'ZAI_API_KEY', host: 'zai' },
  { name: 'GLM_API_KEY', host: 'zai' },
];
/** Base URL variable per host (each SDK's own), after `GLM_BASE_URL` which applies to both. */
export const GLM_BASE_URL_VARS: Readonly<Record<GlmHost, string>> = {
  bigmodel: 'ZHIPUAI_BASE_URL',
  zai: 'ZAI_BASE_URL',
};

const hybrid = { thinking: true } as const;
const hybridVision = { thinking: true, vision: true } as const;

/**
 * The GLM families, context windows in tokens ("200K" is 204,800, "1M" 1,048,576, as the vendor's
 * pages write them), except where the API states its own figure: GLM-4.7's 1210 overflow message
 * says "maximum context length 202750" (as users quoted it; docs/providers.md [Z1]). Sources (docs/providers.md, [Z5]-[Z8], read 2026-12-02): the docs.z.ai and
 * docs.bigmodel.cn model pages and the thinking-mode page, which lists GLM-5.2, GLM-5.1, GLM-5 and
 * the GLM-4.7 series as thinking by default and switched off with `thinking: disabled` (hybrid).
 * An entry without a window would be one whose window no vendor page read states (none since
 * glm-4.7-flash's, the GLM-4.7 page's third tab, was read on 2026-12-07), though glm-4-air-250414's,
 * glm-4-flash's and glm-4-flashx's 128K are unverified ([Z8]: their tabs could not be read; kept, as
 * GLM-4-Plus's, the one tab read). The list informs; any
 * other id goes to the vendor, which answers code 1211 for a model it does not have. The first entry
 * is the provider's default model (glm-5.1, unchanged when glm-5.2 was added).
 */
export const GLM_MODELS: readonly ModelSpec[] = [
  { id: 'glm-5.1', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-5.2', contextWindow: 1_048_576, capabilities: hybrid },
  { id: 'glm-5', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-5-turbo', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-5v-turbo', contextWindow: 204_800, capabilities: hybridVision },
  { id: 'glm-4.7', contextWindow: 202_750, capabilities: hybrid },
  { id: 'glm-4.7-flashx', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-4.7-flash', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-4.6', contextWindow: 204_800, capabilities: hybrid },
  { id: 'glm-4.5', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-air', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-x', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-airx', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.5-flash', contextWindow: 131_072, capabilities: hybrid },
  { id: 'glm-4.6v', contextWindow: 131_072, capabilities: hybridVision },
  { id: 'glm-4.5v', contextWindow: 65_536, capabilities: hybridVision },
  { id: 'glm-4-32b-0414-128k', contextWindow: 131_072 },
  { id: 'glm-4-plus', contextWindow: 131_072 },
  { id: 'glm-4-air-250414', contextWindow: 131_072 },
  { id: 'glm-4-flash', contextWindow: 131_072 },
  { id: 'glm-4-flashx', contextWindow: 131_072 },
  { id: 'glm-4-long', contextWindow: 1_048_576 },
];

export function glmBaseURL(host: GlmHost, codingPlan: boolean): string {
  if (host === 'zai') return codingPlan ? GLM_ZAI_CODING_BASE_URL : GLM_ZAI_BASE_URL;
  return codingPlan ? GLM_BIGMODEL_CODING_BASE_URL : GLM_BIGMODEL_BASE_URL;
}

/** The key and the host its variable selects (see `GLM_KEY_VARS`), from the first variable set. */
export function glmKeyFrom(
  env: Readonly<Record<string, string | undefined>>,
): { readonly apiKey: string; readonly host: GlmHost; readonly variable: string } | undefined {
  for (const { name, host } of GLM_KEY_VARS) {
    const value = env[name]?.trim();
    if (value) return { apiKey: checkedKey(name, value, MAX_VENDOR_KEY_CHARS), host, variable: name };
  }
  return undefined;
}
