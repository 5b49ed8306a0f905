/**
 * GLM's base64 images in the official SDKs' form (docs/providers.md, GLM): `glmPrepare` cuts the
 * `data:image/...;base64,` prefix on a copy, never in the caller's request. Over HTTP:
 * tests/integration/providers/glm-wire.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { glmPrepare } from '../../../src/providers/glm-rules.js';
import type { ChatMessage, ChatRequest } from '../../../src/providers/port.js';

const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } };

describe('glmPrepare and base64 images', () => {
  it('sends the base64 alone and leaves the caller’s request as it was', () => {
    const message = { role: 'user', content: [{ type: 'text', text: 'q' }, image] } as unknown as ChatMessage;
    const request: ChatRequest = { model: 'glm-4.6v', messages: [message] };
    const { request: sent, notes } = glmPrepare(request, undefined);
    expect(sent.messages[0]?.content).toEqual([
      { type: 'text', text: 'q' },
      { type: 'image_url', image_url: { url: 'iVBORw0KGgo=' } },
    ]);
    expect(notes).toEqual([]);
    expect(request.messages[0]).toBe(message);
    expect(image.image_url.url).toBe('data:image/png;base64,iVBORw0KGgo=');
  });

  it('keeps the very messages when no image needs it', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'q' }];
    expect(glmPrepare({ model: 'glm-4.6v', messages }, undefined).request.messages).toBe(messages);
  });
});
