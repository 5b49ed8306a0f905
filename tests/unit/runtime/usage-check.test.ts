/**
 * A call's reported usage as the runtime counts it (`usableUsage`), and what a provider that sends
 * garbage there does to a runtime with token limits: before, `prompt_tokens: -1e12` gave that much
 * back to the window and `completion_tokens: 1e308` held every later call until its queue deadline.
 */
import { describe, expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { usableUsage } from '../../../src/runtime/usage-check.js';

describe('usableUsage', () => {
  it('passes a sound usage through as the same object', () => {
    const usage = {
      promptTokens: 3,
      completionTokens: 4,
      totalTokens: 7,
      cachedTokens: 1,
      reasoningTokens: 2,
      rateLimitTokens: 9,
    };
    expect(usableUsage(usage)).toBe(usage);
    const bare = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    expect(usableUsage(bare)).toBe(bare);
    expect(usableUsage(undefined)).toBeUndefined();
  });

  it('is no usage when the prompt or completion count is not a whole number from 0 up', () => {
    for (const bad of [-1, -1e12, 1e308, Number.NaN, Number.POSITIVE_INFINITY, 1.5, 2 ** 53, '3']) {
      expect(
        usableUsage({ promptTokens: bad as number, completionTokens: 1, totalTokens: 2 }),
      ).toBeUndefined();
      expect(
        usableUsage({ promptTokens: 1, completionTokens: bad as number, totalTokens: 2 }),
      ).toBeUndefined();
    }
    expect(usableUsage({ promptTokens: 2 ** 53 - 1, completionTokens: 0, totalTokens: 2 ** 53 - 1 })).toEqual(
      {
        promptTokens: 2 ** 53 - 1,
        completionTokens: 0,
        totalTokens: 2 ** 53 - 1,
      },
    );
  });

  it('sums a total that is not one, and leaves out a cached or rate-limit count that is not', () => {
    expect(usableUsage({ promptTokens: 3, completionTokens: 4, totalTokens: -7 })).toStrictEqual({
      promptTokens: 3,
      completionTokens: 4,
      totalTokens: 7,
    });
    expect(
      usableUsage({
        promptTokens: 3,
        completionTokens: 4,
        totalTokens: 7,
        cachedTokens: -1,
        rateLimitTokens: 9,
      }),
    ).toStrictEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7, rateLimitTokens: 9 });
    expect(
      usableUsage({
        promptTokens: 3,
        completionTokens: 4,
        totalTokens: 7,
        cachedTokens: 2,
        rateLimitTokens: Number.NaN,
      }),
    ).toStrictEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7, cachedTokens: 2 });
  });

  it('keeps a sound reasoning count beside a repaired total, and leaves out one that is not', () => {
    expect(
      usableUsage({ promptTokens: 3, completionTokens: 4, totalTokens: -7, reasoningTokens: 2 }),
    ).toStrictEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7, reasoningTokens: 2 });
    for (const bad of [-1, 1e308, Number.NaN, 1.5]) {
      expect(
        usableUsage({ promptTokens: 3, completionTokens: 4, totalTokens: 7, reasoningTokens: bad }),
      ).toStrictEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7 });
    }
  });

  it.each([false, true])(
    'keeps a garbage usage out of the token window and metrics (stream %s)',
    async (stream) => {
      let calls = 0;
      const usage = () =>
        calls === 1
          ? { promptTokens: -1e12, completionTokens: 1e308, totalTokens: 1e308 }
          : { promptTokens: 10, completionTokens: 5, totalTokens: 15 };
      const provider: ChatProvider = {
        name: 'p',
        async complete() {
          calls++;
          return { content: 'ok', usage: usage() };
        },
        async *stream() {
          calls++;
          yield { type: 'content', text: 'ok' };
          yield { type: 'usage', usage: usage() };
          yield { type: 'finish', reason: 'stop' };
        },
      };
      const runtime = createRuntime({
        providers: [provider],
        defaults: { model: 'm', queueTimeoutMs: 2000 },
        limits: { providers: { p: { tokensPerMinute: 100_000 } } },
      });
      const ask = () =>
        runtime.submit({ messages: [{ role: 'user', content: 'x' }], max_tokens: 10, stream }).result;
      const first = await ask();
      expect(first.ok).toBe(true);
      expect(first.metadata.usage).toBeUndefined();
      // Before, this one waited out its queue deadline: the window held 1e308 tokens.
      const second = await ask();
      expect(second.ok ? second.metadata.usage : second.error.code).toEqual({
        promptTokens: 10,
        completionTokens: 5,
        totalTokens: 15,
      });
      expect(runtime.metrics().tokens).toEqual({ prompt: 10, completion: 5 });
      await runtime.shutdown();
    },
  );
});
