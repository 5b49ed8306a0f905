/**
 * The OpenAI-compatible endpoint the `TROUPE_OPENAI_*` variables describe (config.ts adds it to
 * the providers).
 */

import { describe, runtimeError } from '../core/errors.js';
import { checkedKey } from './api-key.js';
import { checkBaseUrl } from './base-url.js';
import type { ModelSpec } from './registry.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A provider's name: a metric label, an MCP argument, a dashboard key. */
export const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/**
 * `TROUPE_OPENAI_BASE_URL`, `TROUPE_OPENAI_API_KEY`, `TROUPE_OPENAI_MODELS` (comma-separated ids,
 * each optionally `id=contextWindow`; only a trailing `=<integer>` is a window), `TROUPE_OPENAI_NAME` (@default 'openai').
 */
export function envEndpoint(
  env: Env,
): { name: string; baseURL: string; apiKey?: string; models: ModelSpec[] } | undefined {
  const baseURL = env.TROUPE_OPENAI_BASE_URL?.trim();
  if (!baseURL) {
    // Without the endpoint, its key or models meant the simulated provider, silently (and "no
    // provider key set" though one was): refuse, naming what is missing, never the key.
    const set = ['TROUPE_OPENAI_API_KEY', 'TROUPE_OPENAI_MODELS'].filter((v) => env[v]?.trim());
    if (set.length === 0) return undefined;
    throw runtimeError(
      'INVALID_REQUEST',
      `TROUPE_OPENAI_BASE_URL: Expected the base URL of the OpenAI-compatible endpoint (e.g. https://api.openai.com/v1) since ${set.join(' and ')} ${set.length === 1 ? 'is' : 'are'} set, got none; set it, or unset ${set.join(' and ')}`,
    );
  }
  checkBaseUrl('TROUPE_OPENAI_BASE_URL', baseURL);
  const models = (env.TROUPE_OPENAI_MODELS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item): ModelSpec => {
      // Only a trailing `=<positive integer>` is a window: an id may itself contain `=`.
      const at = item.lastIndexOf('=');
      const window = at < 0 ? undefined : item.slice(at + 1).trim();
      const contextWindow = Number(window);
      return window !== undefined && /^\d+$/.test(window) && contextWindow > 0
        ? { id: item.slice(0, at).trim(), contextWindow }
        : { id: item };
    });
  const apiKey = env.TROUPE_OPENAI_API_KEY?.trim();
  const name = env.TROUPE_OPENAI_NAME?.trim() || 'openai';
  // The file's rule for names (they are metric labels, MCP arguments, dashboard keys); it took any.
  if (!PROVIDER_NAME.test(name))
    throw runtimeError(
      'INVALID_REQUEST',
      `TROUPE_OPENAI_NAME: Expected a name of letters, digits, - and _, got ${describe(name)}`,
    );
  return {
    name,
    baseURL,
    models,
    ...(apiKey ? { apiKey: checkedKey('TROUPE_OPENAI_API_KEY', apiKey) } : {}),
  };
}
