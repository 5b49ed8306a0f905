/**
 * Moonshot's Kimi, as a preset on the OpenAI-compatible adapter.
 *
 * Quirks: thinking models stream `reasoning_content` (the generic mapping handles it); usage can
 * sit inside the final choice (handled in `wire.ts`); errors follow Moonshot's table
 * (`vendor-errors.ts`); requests are checked against its parameter rules (`kimi-rules.ts`);
 * `max_tokens` goes out as `max_completion_tokens`; a `content_filter` finish reason fails the call
 * (`CONTENT_FILTERED`), as GLM's `sensitive` does; multi-file chat goes through Moonshot's files
 * API: upload with purpose `file-extract`, read the extracted text, send it as system messages,
 * then delete the uploads however the call ended (`kimi-files.ts`).
 */

import { MAX_VENDOR_KEY_CHARS } from './api-key.js';
import { KIMI_BASE_URL, KIMI_CN_BASE_URL, KIMI_MODELS } from './kimi-catalog.js';
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
import { sentBudget } from './stream-tally.js';
import { KIMI_ERRORS } from './vendor-errors.js';

export {
  KIMI_BASE_URL,
  KIMI_BASE_URL_VARS,
  KIMI_CN_BASE_URL,
  KIMI_KEY_VARS,
  KIMI_MODELS,
  kimiKeyFrom,
} from './kimi-catalog.js';

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
      // The vendor's bound, however the provider is built (until 2026-12-08 only its variables had it).
      maxKeyChars: MAX_VENDOR_KEY_CHARS,
      errorTable: KIMI_ERRORS,
      // Moonshot documents `max_completion_tokens` and deprecates `max_tokens`.
      maxTokensField: 'max_completion_tokens',
      // Moonshot refuses an assistant tool-call turn with empty `content` ("text content is empty").
      omitEmptyToolCallContent: true,
      // An answer its safety review stopped ("generated content ... can trigger a content_filter",
      // the Kimi help center) is a failure, not a finished answer, as Moonshot's own client takes it
      // (MoonshotAI/kimi-code #963; docs/providers.md [K17]).
      errorFinishReasons: { content_filter: 'CONTENT_FILTERED' },
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
