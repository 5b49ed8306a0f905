/**
 * How the contract compares an adapter's usage with what the server sent. The port reports cache
 * hits as `cachedTokens` "when reported": an adapter may leave it out, or give 0 when the server
 * sent none, but must not miscount. Until 2026-12-05 the comparison was of the whole object, so a
 * `cachedTokens: 0` failed, and the server never sent cache hits, so a miscount of them passed.
 */
import { describe, expect, it } from 'vitest';
import type { ContractContext } from '../../../src/testing/contract/harness.js';
import type { ScriptedReply } from '../../../src/testing/contract/replies.js';
import { shapeViolation } from '../../../src/testing/contract/shape.js';
import { deltaViolations } from '../../../src/testing/contract/stream.js';

const context = {
  capabilities: { streaming: true, tools: false, files: false, thinking: false },
} as unknown as ContractContext;

const reply = (usage: ScriptedReply['usage']): ScriptedReply => ({
  content: 'hi',
  finishReason: 'stop',
  usage,
});
const plain = { prompt_tokens: 11, completion_tokens: 7 };
const cached = { ...plain, prompt_tokens_details: { cached_tokens: 4 } };
const counts = { promptTokens: 11, completionTokens: 7, totalTokens: 18 };

/** What an adapter's complete() and stream() report with `usage`. */
function violations(usage: object, sent: ScriptedReply['usage']) {
  const scripted = reply(sent);
  return [
    shapeViolation({ content: 'hi', finishReason: 'stop', usage }, scripted, context),
    deltaViolations(
      [
        { type: 'content', text: 'hi' },
        { type: 'usage', usage: usage as never },
        { type: 'finish', reason: 'stop' },
      ],
      { reply: scripted, context, usageAsked: true },
    ),
  ];
}

describe('the contract’s usage comparison', () => {
  it('accepts `cachedTokens: 0` when the server sent no cache hits', () => {
    expect(violations({ ...counts, cachedTokens: 0 }, plain)).toEqual([undefined, undefined]);
  });

  it('accepts the cache hits the server sent, or none reported', () => {
    expect(violations({ ...counts, cachedTokens: 4 }, cached)).toEqual([undefined, undefined]);
    expect(violations(counts, cached)).toEqual([undefined, undefined]);
  });

  it('rejects cache hits miscounted, or taken out of the prompt’s count', () => {
    for (const wrong of [
      { ...counts, cachedTokens: 7 },
      { ...counts, promptTokens: 7, totalTokens: 14, cachedTokens: 4 },
    ]) {
      const [whole, streamed] = violations(wrong, cached);
      expect(whole).toMatch(
        /^Expected usage \{"promptTokens":11,"completionTokens":7,"totalTokens":18,"cachedTokens":4\}/,
      );
      expect(streamed).toMatch(
        /^Expected usage \{"promptTokens":11,"completionTokens":7,"totalTokens":18,"cachedTokens":4\}/,
      );
    }
  });

  it('still ignores an adapter’s own `rateLimitTokens`', () => {
    expect(violations({ ...counts, rateLimitTokens: 900 }, plain)).toEqual([undefined, undefined]);
  });
});

describe('the contract’s message for a usage count that is no count', () => {
  // JSON shows `NaN` and `Infinity` as `null` and leaves `undefined` out: until 2026-12-05 an
  // adapter whose totalTokens was NaN read "got {…,"totalTokens":null}", a value it never gave.
  it.each([
    [Number.NaN, '`totalTokens` `NaN` (number)'],
    [Number.POSITIVE_INFINITY, '`totalTokens` `Infinity` (number)'],
    [undefined, '`totalTokens` `undefined`'],
    ['18', '`totalTokens` `"18"` (string)'],
  ])('names the count and what it was: %s', (totalTokens, shown) => {
    const [whole, streamed] = violations({ promptTokens: 11, completionTokens: 7, totalTokens }, plain);
    for (const message of [whole, streamed]) {
      expect(message).toContain(
        `Expected usage to be non-negative integer promptTokens, completionTokens and totalTokens, got ${shown} in {`,
      );
    }
  });

  it('names a usage that is no object', () => {
    const [whole] = violations(null as never, plain);
    expect(whole).toContain('totalTokens, got `null`');
  });
});
