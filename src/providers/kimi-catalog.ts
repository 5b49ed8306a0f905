/**
 * What troupe knows of Moonshot's Kimi without loading an HTTP client: its hosts, its key and base-URL
 * variables and its model list. `loadProviders` reads these for every start; `kimi.ts` (the adapter,
 * which loads the `openai` SDK and undici) only when a Kimi key is set.
 */

import { checkedKey, MAX_VENDOR_KEY_CHARS } from './api-key.js';
import type { ModelSpec } from './registry.js';

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

/** The key from the first of `MOONSHOT_API_KEY`, `KIMI_API_KEY` that is set and not blank. */
export function kimiKeyFrom(env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const name of KIMI_KEY_VARS) {
    const value = env[name]?.trim();
    if (value) return checkedKey(name, value, MAX_VENDOR_KEY_CHARS);
  }
  return undefined;
}
