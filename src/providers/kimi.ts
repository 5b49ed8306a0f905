/**
 * Moonshot's Kimi, as a preset on the OpenAI-compatible adapter.
 *
 * Quirks: thinking models stream `reasoning_content` (the generic mapping handles it); usage can
 * sit inside the final choice (handled in `wire.ts`); errors follow Moonshot's table
 * (`vendor-errors.ts`); requests are checked against its parameter rules (`kimi-rules.ts`);
 * `max_tokens` goes out as `max_completion_tokens`; multi-file chat goes through Moonshot's files
 * API: upload with purpose `file-extract`, read the extracted text, send it as system messages,
 * then delete the uploads however the call ended (`kimi-files.ts`).
 */

import { checkedKey } from './api-key.js';
import { moonshotFiles } from './kimi-files.js';
import {
  KIMI_K2_5_DEFAULT_MAX_TOKENS,
  KIMI_K3_DEFAULT_MAX_TOKENS,
  kimiHasFixedSampling,
  kimiIsK3,
  kimiPrepare,
} from './kimi-rules.js';
import {
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
  type OpenAICompatibleProvider,
} from './openai-compatible.js';
import type { ModelSpec } from './registry.js';
import { sentBudget } from './stream-tally.js';
import { KIMI_ERRORS } from './vendor-errors.js';

export const KIMI_BASE_URL = 'https://api.moonshot.ai/v1';
export const KIMI_CN_BASE_URL = 'https://api.moonshot.cn/v1';
/** Checked in this order. */
export const KIMI_KEY_VARS = ['MOONSHOT_API_KEY', 'KIMI_API_KEY'] as const;
/** Base URL overrides, checked in this order (`KIMI_BASE_URL` is what Kimi's own tools read). */
export const KIMI_BASE_URL_VARS = ['KIMI_BASE_URL', 'MOONSHOT_BASE_URL'] as const;

const thinking = { thinking: true, files: true } as const;
const thinkingVision = { thinking: true, files: true, vision: true } as const;
const plain = { files: true } as const;
const vision = { files: true, vision: true } as const;

/**
 * Moonshot's current families (platform.kimi.ai model list and parameter reference, read
 * 2026-12-01). The list informs (context windows, capabilities); it does not block: any other id
 * goes to the vendor, which answers 404 for a model it does not have. `GET /v1/models` is the live
 * list (`list_models` with `refresh`).
 */
export const KIMI_MODELS: readonly ModelSpec[] = [
  { id: 'kimi-k2.7-code', contextWindow: 262_144, capabilities: thinkingVision },
  { id: 'kimi-k2.7-code-highspeed', contextWindow: 262_144, capabilities: thinkingVision },
  // Kimi help center (2026-07-28): 1M context ("1024*1024 - prompt_tokens"), native vision, always thinks.
  { id: 'kimi-k3', contextWindow: 1_048_576, capabilities: thinkingVision },
  { id: 'kimi-k2.6', contextWindow: 262_144, capabilities: thinkingVision },
  { id: 'kimi-k2.5', contextWindow: 262_144, capabilities: thinkingVision },
  { id: 'kimi-k2-thinking', contextWindow: 262_144, capabilities: thinking },
  { id: 'kimi-k2-thinking-turbo', contextWindow: 262_144, capabilities: thinking },
  { id: 'kimi-k2-turbo-preview', contextWindow: 262_144, capabilities: plain },
  { id: 'kimi-k2-0905-preview', contextWindow: 262_144, capabilities: plain },
  { id: 'kimi-k2-0711-preview', contextWindow: 131_072, capabilities: plain },
  { id: 'moonshot-v1-8k', contextWindow: 8_192, capabilities: plain },
  { id: 'moonshot-v1-32k', contextWindow: 32_768, capabilities: plain },
  { id: 'moonshot-v1-128k', contextWindow: 131_072, capabilities: plain },
  { id: 'moonshot-v1-auto', contextWindow: 131_072, capabilities: plain },
  { id: 'moonshot-v1-8k-vision-preview', contextWindow: 8_192, capabilities: vision },
  { id: 'moonshot-v1-32k-vision-preview', contextWindow: 32_768, capabilities: vision },
  { id: 'moonshot-v1-128k-vision-preview', contextWindow: 131_072, capabilities: vision },
];

export interface KimiOptions extends Partial<Omit<OpenAICompatibleOptions, 'apiKey'>> {
  readonly apiKey: string;
  /** `cn` uses the mainland host `api.moonshot.cn`. Ignored when `baseURL` is given. @default 'global' */
  readonly region?: 'global' | 'cn';
  /**
   * How long each cleanup delete may take, in ms (the call's own signal may be aborted by then);
   * after an upload with no answer, the whole search for what it stored (one list, a second one
   * halfway through when files are missing, and their deletes). @default 5000
   */
  readonly deleteTimeoutMs?: number;
}

export function createKimiProvider(options: KimiOptions): OpenAICompatibleProvider {
  const baseURL = options.baseURL ?? (options.region === 'cn' ? KIMI_CN_BASE_URL : KIMI_BASE_URL);
  return createOpenAICompatibleProvider({
    ...options,
    name: options.name ?? 'kimi',
    baseURL,
    models: options.models ?? KIMI_MODELS,
    capabilities: {
      files: moonshotFiles(options.deleteTimeoutMs ?? 5000),
      errorTable: KIMI_ERRORS,
      // Moonshot documents `max_completion_tokens` and deprecates `max_tokens`.
      maxTokensField: 'max_completion_tokens',
      // Moonshot refuses an assistant tool-call turn with empty `content` ("text content is empty").
      omitEmptyToolCallContent: true,
      rateLimitBudget: kimiRateLimitBudget,
      prepare: kimiPrepare,
      ...(options.capabilities ?? {}),
    },
  });
}

/**
 * What Moonshot's gateway counts against TPM and TPD besides the prompt: the `max_completion_tokens`
 * sent, else the vendor's default where it states one (kimi-k3: 131072; kimi-k2.5, kimi-k2.6 and
 * kimi-k2.7-code: 32768); Kimi help center, "速率限制的计算逻辑". Without either, the usage is counted.
 */
export function kimiRateLimitBudget(body: Readonly<Record<string, unknown>>): number | undefined {
  return sentBudget(body) ?? (typeof body.model === 'string' ? vendorDefaultBudget(body.model) : undefined);
}

function vendorDefaultBudget(model: string): number | undefined {
  if (kimiIsK3(model)) return KIMI_K3_DEFAULT_MAX_TOKENS;
  return kimiHasFixedSampling(model) ? KIMI_K2_5_DEFAULT_MAX_TOKENS : undefined;
}

/** The key from the first of `MOONSHOT_API_KEY`, `KIMI_API_KEY` that is set and not blank. */
export function kimiKeyFrom(env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const name of KIMI_KEY_VARS) {
    const value = env[name]?.trim();
    if (value) return checkedKey(name, value);
  }
  return undefined;
}
