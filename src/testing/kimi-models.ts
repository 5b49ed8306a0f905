/**
 * Moonshot's model list as the local server answers it in Kimi mode (`GET /v1/models`). Sources:
 * docs/providers.md ([K11]). Node built-ins only: this ships as `troupe/testing`.
 */

/** What Moonshot's `GET /v1/models` says of each model besides its id. */
export interface KimiModelFields {
  readonly context_length: number;
  readonly supports_reasoning: boolean;
  readonly supports_image_in: boolean;
  readonly supports_video_in: boolean;
}

/**
 * One entry of Moonshot's model list: `id`, `object`, `created`, `owned_by` and the fields its
 * models reference lists and its own client reads (MoonshotAI/kimi-cli, `auth/platforms.py`).
 * Without `given`: 262144 tokens, no reasoning, image or video input (*chosen*).
 */
export function kimiModelCard(id: string, given: Partial<KimiModelFields> = {}): Record<string, unknown> {
  return {
    id,
    object: 'model',
    created: 0,
    owned_by: 'moonshot',
    context_length: 262_144,
    supports_reasoning: false,
    supports_image_in: false,
    supports_video_in: false,
    ...given,
  };
}
