/**
 * ZhipuAI's GLM, as a preset on the OpenAI-compatible adapter. Two hosts serve it: BigModel
 * (`open.bigmodel.cn`, mainland) and Z.ai (`api.z.ai`, international), with separate keys.
 *
 * Quirks: `thinking: { type: 'enabled' | 'disabled' }` on the 4.5+ models (the port's default
 * mapping is exactly this form); thinking output arrives as `reasoning_content`; the `web_search`
 * tool (`{ type: 'web_search', web_search: {...} }`) passes through `tools` unchanged; usage comes in
 * the last chunk without `stream_options`, which we therefore do not send; errors follow the
 * business-code table (`vendor-errors.ts`); `sensitive` and `network_error` finish reasons fail the
 * call; requests are checked against GLM's parameter rules (`glm-rules.ts`).
 */

import { MAX_VENDOR_KEY_CHARS } from './api-key.js';
import { GLM_MODELS, type GlmHost, glmBaseURL } from './glm-catalog.js';
import { glmPrepare } from './glm-rules.js';
import {
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
  type OpenAICompatibleProvider,
} from './openai-compatible.js';
import { GLM_ERRORS } from './vendor-errors.js';

export {
  GLM_BASE_URL_VARS,
  GLM_BIGMODEL_BASE_URL,
  GLM_BIGMODEL_CODING_BASE_URL,
  GLM_KEY_VARS,
  GLM_MODELS,
  GLM_ZAI_BASE_URL,
  GLM_ZAI_CODING_BASE_URL,
  type GlmHost,
  glmBaseURL,
  glmKeyFrom,
} from './glm-catalog.js';

export interface GlmOptions extends Partial<Omit<OpenAICompatibleOptions, 'apiKey'>> {
  readonly apiKey: string;
  /** Which host. Ignored when `baseURL` is given. @default 'bigmodel' */
  readonly host?: GlmHost;
  /** Use the GLM Coding Plan path (`/api/coding/paas/v4`) of the host. Ignored with `baseURL`. @default false */
  readonly codingPlan?: boolean;
}

export function createGlmProvider(options: GlmOptions): OpenAICompatibleProvider {
  const baseURL = options.baseURL ?? glmBaseURL(options.host ?? 'bigmodel', options.codingPlan ?? false);
  return createOpenAICompatibleProvider({
    ...options,
    name: options.name ?? 'glm',
    baseURL,
    models: options.models ?? GLM_MODELS,
    // Z.ai and Zhipu limit each model apart ("不同模型设有独立的并发限制", docs/providers.md "Limits"):
    // a 429 pauses its model, not the account's other models.
    cooldownScope: options.cooldownScope ?? 'model',
    capabilities: {
      streamUsageOption: false,
      // The vendor's bound, however the provider is built (until 2026-12-08 only its variables had it).
      maxKeyChars: MAX_VENDOR_KEY_CHARS,
      errorTable: GLM_ERRORS,
      // Documented finish reasons that mean the answer failed (docs.bigmodel.cn chat reference).
      errorFinishReasons: { sensitive: 'CONTENT_FILTERED', network_error: 'PROVIDER_UNAVAILABLE' },
      prepare: glmPrepare,
      ...(options.capabilities ?? {}),
    },
  });
}
