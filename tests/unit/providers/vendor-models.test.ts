import { describe, expect, it } from 'vitest';
import { MAX_LISTED_WINDOW, vendorModelOf } from '../../../src/providers/vendor-models.js';

describe('vendorModelOf: what a model list says of a model', () => {
  it('reads Moonshot’s context_length, supports_reasoning and supports_image_in', () => {
    expect(
      vendorModelOf('kimi-k2.6', {
        id: 'kimi-k2.6',
        context_length: 262_144,
        supports_reasoning: true,
        supports_image_in: false,
        supports_video_in: true,
      }),
    ).toEqual({ id: 'kimi-k2.6', contextWindow: 262_144, capabilities: { thinking: true, vision: false } });
  });

  it('leaves out a window that is no count of tokens, and flags that are not booleans', () => {
    for (const window of [0, -1, 1.5, '262144', MAX_LISTED_WINDOW + 1, Number.NaN, null])
      expect(vendorModelOf('m', { context_length: window, supports_reasoning: 'yes' })).toEqual({ id: 'm' });
    expect(vendorModelOf('m', { context_length: MAX_LISTED_WINDOW })).toEqual({
      id: 'm',
      contextWindow: MAX_LISTED_WINDOW,
    });
    expect(vendorModelOf('m', null)).toEqual({ id: 'm' });
  });
});
