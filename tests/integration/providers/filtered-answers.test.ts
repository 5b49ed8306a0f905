/**
 * What the vendors say an answer was, read over real HTTP through the presets against the local
 * server in Kimi and GLM modes: a Kimi answer that ends `finish_reason: "content_filter"` (its
 * safety review stopped it) fails `CONTENT_FILTERED` rather than standing as a finished answer,
 * streamed or whole, as GLM's `sensitive` does; and the reasoning part of a completion that GLM
 * reports (`usage.completion_tokens_details.reasoning_tokens`) reaches the session's metadata.
 * docs/providers.md, "Finish reasons that mean failure" and [K17], [Z3].
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/providers/port.js';
import type { SessionResult } from '../../../src/runtime/types.js';
import { run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-filtered-answers-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('kimi: finish_reason content_filter', () => {
  it.each([false, true])(
    'fails the call CONTENT_FILTERED, not retried, with no partial answer (stream %s)',
    async (stream) => {
      const r = await rig('kimi', { maxAttempts: 3 });
      r.server.setResponder(() => ({ content: 'half an answer', finishReason: 'content_filter' }));
      const result = await run(r, { provider: 'kimi', model: 'kimi-k2.6', stream, messages: [user('q')] });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('CONTENT_FILTERED');
      expect(result.error.message).toMatch(
        /finish_reason `content_filter` after 14 character\(s\) \(the vendor's safety review stopped it\)/,
      );
      expect(result.metadata.attempts).toBe(1);
      // The text the review stopped is not handed on as what the call had written; streamed, the
      // result says what observers were streamed is withdrawn.
      expect(result.partial).toBeUndefined();
      expect(result.withdrawn).toBe(stream ? true : undefined);
    },
  );

  it('still takes the other finish reasons as answers (length stays a cut answer)', async () => {
    const r = await rig('kimi');
    r.server.setResponder(() => ({ content: 'cut here', finishReason: 'length' }));
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      stream: true,
      messages: [user('q')],
    });
    expect(result.ok && result.content).toBe('cut here');
    expect(result.metadata.finishReason).toBe('length');
  });
});

// What a subscriber sees: the text, then an end that says it is withdrawn (docs/runtime.md, "What a
// failed stream had written"). Until 2026-12-07 the end said CONTENT_FILTERED only, as one for a
// stream that had written nothing would.
describe.each([
  ['kimi', 'kimi-k2.6', 'content_filter'],
  ['glm', 'glm-4.6', 'sensitive'],
] as const)('%s: a stream its vendor’s review stopped, as a subscriber sees it', (vendor, model, finish) => {
  it(`gets the text, then an end with the call failed and the text withdrawn (${finish})`, async () => {
    const r = await rig(vendor);
    r.server.setResponder(() => ({ content: 'half an answer', finishReason: finish }));
    const seen: string[] = [];
    let end: SessionResult | undefined;
    const unsubscribe = r.runtime.subscribe((event) => {
      if (event.type === 'session.delta' && event.delta.type === 'content') seen.push(event.delta.text);
      if (event.type === 'session.ended') end = event.result as SessionResult;
    });
    await run(r, { provider: vendor, model, stream: true, messages: [user('q')] });
    unsubscribe();
    expect(seen.join('')).toBe('half an answer');
    expect(end).toMatchObject({ ok: false, error: { code: 'CONTENT_FILTERED' }, withdrawn: true });
    expect(end && 'partial' in end).toBe(false);
  });

  it('says nothing is withdrawn when the review stopped the answer before any text', async () => {
    const r = await rig(vendor);
    r.server.setResponder(() => ({ content: '', finishReason: finish }));
    const result = await run(r, { provider: vendor, model, stream: true, messages: [user('q')] });
    expect(result).toMatchObject({ ok: false, error: { code: 'CONTENT_FILTERED' } });
    expect('withdrawn' in result).toBe(false);
  });
});

describe('glm: reasoning tokens in the usage', () => {
  it.each([false, true])(
    'records completion_tokens_details.reasoning_tokens as usage.reasoningTokens (stream %s)',
    async (stream) => {
      const r = await rig('glm');
      r.server.setResponder(() => ({
        reasoning: 'thinking it over',
        content: 'the answer',
        usage: {
          prompt_tokens: 20,
          completion_tokens: 30,
          prompt_tokens_details: { cached_tokens: 8 },
          completion_tokens_details: { reasoning_tokens: 12 },
        },
      }));
      const result = await run(r, { provider: 'glm', model: 'glm-4.6', stream, messages: [user('q')] });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.metadata.usage).toStrictEqual({
        promptTokens: 20,
        completionTokens: 30,
        totalTokens: 50,
        cachedTokens: 8,
        reasoningTokens: 12,
      });
    },
  );

  it('leaves reasoningTokens out when the vendor sent none, or 0', async () => {
    const r = await rig('glm');
    r.server.setResponder(() => ({
      content: 'plain',
      usage: {
        prompt_tokens: 5,
        completion_tokens: 6,
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    }));
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', messages: [user('q')] });
    expect(result.ok && result.metadata.usage).toStrictEqual({
      promptTokens: 5,
      completionTokens: 6,
      totalTokens: 11,
    });
  });
});
