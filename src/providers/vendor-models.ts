/**
 * What a vendor's `GET /models` says of each model besides its id. Moonshot lists, per model,
 * `context_length` (tokens), `supports_reasoning`, `supports_image_in` and `supports_video_in`
 * (its models reference; its own client reads them: MoonshotAI/kimi-cli,
 * `src/kimi_cli/auth/platforms.py`); other OpenAI-compatible servers list ids only, or the same
 * `context_length` (OpenRouter). Pure: a field of another type or out of range is left out.
 */
import type { ModelCapabilities, VendorModel } from './registry.js';

/** The largest window taken from a model list, in tokens; a larger number is no window. */
export const MAX_LISTED_WINDOW = 100_000_000;

/** The details of one listed model `raw`, whose id (`id`) was already checked. */
export function vendorModelOf(id: string, raw: unknown): VendorModel {
  const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const window = fields.context_length;
  const capabilities: { -readonly [K in keyof ModelCapabilities]?: boolean } = {};
  if (typeof fields.supports_reasoning === 'boolean') capabilities.thinking = fields.supports_reasoning;
  if (typeof fields.supports_image_in === 'boolean') capabilities.vision = fields.supports_image_in;
  return {
    id,
    ...(Number.isSafeInteger(window) && (window as number) > 0 && (window as number) <= MAX_LISTED_WINDOW
      ? { contextWindow: window as number }
      : {}),
    ...(Object.keys(capabilities).length === 0 ? {} : { capabilities }),
  };
}
