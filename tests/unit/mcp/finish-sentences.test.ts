/**
 * The sentence the MCP chat texts add for a finish reason a reader must know about: `length`, and
 * GLM's `model_context_window_exceeded` (docs.z.ai chat-completion reference), a cut answer too,
 * and `content_filter` (an OpenAI-compatible endpoint's filter stopped it).
 */
import { describe, expect, it } from 'vitest';
import { finishSentences } from '../../../src/mcp/tools/session-result.js';

describe('finishSentences', () => {
  it("says a GLM answer was cut at the model's context window", () => {
    const text = finishSentences({
      ok: true,
      content: 'partial',
      finish_reason: 'model_context_window_exceeded',
    });
    expect(text).toMatch(/cut where the prompt plus the answer filled the model's context window/);
    expect(text).toMatch(/shorten the conversation/);
  });

  it("says a filter stopped an OpenAI-compatible endpoint's answer (finish_reason content_filter)", () => {
    const text = finishSentences({ ok: true, content: 'half', finish_reason: 'content_filter' });
    expect(text).toMatch(
      /content filter stopped the answer \(finish_reason `content_filter`\): it may be incomplete/,
    );
  });

  it('says nothing for a finished answer', () => {
    expect(finishSentences({ ok: true, content: 'done', finish_reason: 'stop' })).toBe('');
  });

  it('keeps the length sentences', () => {
    expect(finishSentences({ ok: true, content: '', finish_reason: 'length' })).toMatch(
      /before writing any answer/,
    );
    expect(finishSentences({ ok: true, content: 'x', finish_reason: 'length' })).toMatch(
      /cut at the token limit/,
    );
  });
});
