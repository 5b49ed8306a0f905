/** Random answers for the server to give, within what the adapter declared it supports. */
import type { TokenUsage } from '../../providers/port.js';
import type { FastCheck } from '../fast-check.js';
import type { Reply } from '../openai-server.js';
import type { ContractContext } from './harness.js';
import { FINISH_REASONS } from './property.js';

/** A reply whose every optional part the suite decided, so the checks know what must come back. */
export interface ScriptedReply extends Reply {
  readonly content: string;
  readonly finishReason: string;
  readonly usage: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    /** OpenAI's and GLM's place for cache hits: sent now and then. */
    readonly prompt_tokens_details?: { readonly cached_tokens: number };
  };
}

export function replyArbitrary(fc: FastCheck, context: ContractContext) {
  const { tools, thinking } = context.capabilities;
  const toolCall = fc.record({
    id: fc.stringMatching(/^call_[a-z0-9]{1,8}$/),
    name: fc.stringMatching(/^[a-z][a-z_]{0,11}$/),
    arguments: fc
      .dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), {
        maxKeys: 3,
      })
      .map((o) => JSON.stringify(o)),
  });
  return fc
    .record({
      // Any text, not only ASCII: Kimi and GLM answer in Chinese, and multi-byte characters are
      // where a byte-level decoding bug shows.
      content: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20, unit: 'grapheme' })),
      reasoning: thinking
        ? fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined })
        : fc.constant(undefined),
      toolCalls: tools
        ? fc.array(toolCall, { maxLength: 2 })
        : fc.constant<{ id: string; name: string; arguments: string }[]>([]),
      finishReason: fc.constantFrom(
        ...FINISH_REASONS.filter((reason) => !context.failingFinishReasons.includes(reason)),
      ),
      // Cache hits too, part of the prompt (until 2026-12-05 never sent, so a miscount of them passed).
      usage: fc
        .record({ prompt_tokens: fc.nat(5000), completion_tokens: fc.nat(5000) })
        .chain((usage) =>
          fc
            .option(fc.nat(usage.prompt_tokens), { nil: undefined, freq: 2 })
            .map((hits) =>
              hits === undefined ? usage : { ...usage, prompt_tokens_details: { cached_tokens: hits } },
            ),
        ),
    })
    .map(
      ({ reasoning, toolCalls, ...rest }): ScriptedReply => ({
        ...rest,
        ...(reasoning === undefined ? {} : { reasoning }),
        ...(toolCalls.length === 0 ? {} : { toolCalls: uniqueIds(toolCalls) }),
      }),
    );
}

function uniqueIds<T extends { id: string }>(calls: readonly T[]): T[] {
  return calls.map((call, i) => ({ ...call, id: `${call.id}_${i}` }));
}

/** The usage the server sent, as the port reports it: its cache hits too, when it sent them. */
export function usageOf(usage: NonNullable<Reply['usage']>): TokenUsage {
  const cachedTokens = usage.cached_tokens ?? usage.prompt_tokens_details?.cached_tokens;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.prompt_tokens + usage.completion_tokens,
    ...(cachedTokens === undefined ? {} : { cachedTokens }),
  };
}

/**
 * Whether an adapter's usage differs from what the server sent: the three counts exactly, and
 * `cachedTokens`, which the port reports "when reported", either left out or the hits sent (0 when
 * none were). An adapter's own `rateLimitTokens` (the Kimi preset's) is not compared. Until
 * 2026-12-05 the whole object was compared, so a `cachedTokens: 0` failed.
 */
export function usageDiffers(got: TokenUsage, sent: NonNullable<Reply['usage']>): boolean {
  const want = usageOf(sent);
  return (
    got.promptTokens !== want.promptTokens ||
    got.completionTokens !== want.completionTokens ||
    got.totalTokens !== want.totalTokens ||
    (got.cachedTokens !== undefined && got.cachedTokens !== (want.cachedTokens ?? 0))
  );
}
