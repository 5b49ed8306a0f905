/**
 * resultShape: what `complete()` resolves with. `content` a string; usage counts non-negative and
 * adding up; `finishReason` from the documented set; tool calls whole. With a server, each part
 * must be the one the server sent, and no `finishReason` when it sent none (`no-finish=1`).
 */
import type { ChatResponse } from '../../providers/port.js';
import { brief, type ContractContext, completeOf, requestFor } from './harness.js';
import { noteLeak } from './leak.js';
import { type ContractProperty, erase, FINISH_REASONS } from './property.js';
import { replyArbitrary, type ScriptedReply, usageDiffers, usageOf } from './replies.js';
import { isFinishReason, usageViolation } from './stream.js';

export const resultShape: ContractProperty = {
  name: 'resultShape',
  title: 'complete() resolves with string content, usage that adds up and a documented finish reason',
  skip: () => undefined,
  // Content as models send it, edges and all: an adapter that trims or re-encodes it is caught
  // whatever the draw (random strings rarely start or end with a space).
  // And one with no finish_reason, which some servers leave out.
  examples: () => {
    const reply: ScriptedReply = {
      content: '\n  An answer, indented; 多字节 🙂\n\n',
      finishReason: 'length',
      usage: { prompt_tokens: 9, completion_tokens: 4 },
    };
    return [[[reply, false]], [[reply, true]]];
  },
  build(fc, context) {
    // Each reply, one in four, with no finish_reason (`no-finish=1`; until 2026-12-05 never).
    const arbitrary = fc.array(
      fc.tuple(replyArbitrary(fc, context), fc.constantFrom(false, false, false, true)),
      {
        minLength: 1,
        maxLength: 4,
      },
    );
    return erase(
      fc.asyncProperty(arbitrary, async (replies) => {
        for (const [reply, noFinish] of replies) await checkResult(context, reply, noFinish);
      }),
    );
  },
};

async function checkResult(context: ContractContext, reply: ScriptedReply, noFinish: boolean): Promise<void> {
  const nonce = context.script(reply);
  const unsaid = noFinish && context.server !== undefined;
  const model = unsaid ? 'fault:ok:no-finish=1' : context.model;
  const call = await completeOf(
    context,
    requestFor(context, nonce, model),
    new AbortController().signal,
  ).within(5000);
  if (call.state === 'pending') throw new Error('Expected complete() to settle within 5 s, got it pending');
  if (call.state === 'rejected') {
    if (context.server === undefined) return; // a provider of its own may fail; shape is about results
    throw new Error(`Expected complete() to resolve, got ${brief(call.error)}`);
  }
  const wrong = shapeViolation(call.value, context.server === undefined ? undefined : reply, context, unsaid);
  if (wrong !== undefined) throw new Error(wrong);
}

export function shapeViolation(
  value: unknown,
  reply: ScriptedReply | undefined,
  context: ContractContext,
  /** The server sent `finish_reason: null` (`no-finish=1`): the result must have none. */
  noFinish = false,
): string | undefined {
  const result = value as ChatResponse | null;
  if (typeof result !== 'object' || result === null)
    return `Expected a result object, got ${JSON.stringify(value)}`;
  if (typeof result.content !== 'string')
    return `Expected \`content\` to be a string, got ${JSON.stringify(result.content)} in ${JSON.stringify(result).slice(0, 160)}`;
  if (result.usage !== undefined) {
    const wrong = usageViolation(result.usage);
    if (wrong !== undefined) return wrong;
  }
  const leaked = noteLeak(Array.isArray(result.notes) ? result.notes : undefined, context.apiKey);
  if (leaked !== undefined) return leaked;
  if (result.finishReason !== undefined && !isFinishReason(result.finishReason) && reply !== undefined)
    return `Expected \`finishReason\` from ${FINISH_REASONS.join(', ')}, got ${JSON.stringify(result.finishReason)}`;
  if (result.reasoning !== undefined && typeof result.reasoning !== 'string')
    return `Expected \`reasoning\` to be a string when present, got ${JSON.stringify(result.reasoning)}`;
  if (result.toolCalls !== undefined) {
    const calls = result.toolCalls as unknown;
    const whole = (c: unknown) => {
      const call = c as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
      return (
        typeof call?.id === 'string' &&
        call.type === 'function' &&
        typeof call.function?.name === 'string' &&
        typeof call.function.arguments === 'string'
      );
    };
    if (!Array.isArray(calls) || !calls.every(whole))
      return `Expected \`toolCalls\` to be whole { id, type: 'function', function: { name, arguments } } calls, got ${JSON.stringify(calls)}`;
  }
  if (reply === undefined) return undefined;
  if (result.content !== reply.content)
    return `Expected \`content\` ${JSON.stringify(reply.content)} (what the server sent), got ${JSON.stringify(result.content)}`;
  if (noFinish && result.finishReason !== undefined)
    return `Expected no \`finishReason\`, got ${JSON.stringify(result.finishReason)}: the server gave no finish_reason; report none rather than \`${String(result.finishReason)}\``;
  if (!noFinish && result.finishReason !== reply.finishReason)
    return `Expected \`finishReason\` \`${reply.finishReason}\` (what the server sent), got ${JSON.stringify(result.finishReason)}`;
  if (result.usage === undefined)
    return `Expected usage ${JSON.stringify(usageOf(reply.usage))} (what the server sent), got none`;
  if (usageDiffers(result.usage, reply.usage))
    return `Expected usage ${JSON.stringify(usageOf(reply.usage))} (what the server sent), got ${JSON.stringify(result.usage)}`;
  if (context.capabilities.thinking && (result.reasoning ?? undefined) !== reply.reasoning)
    return `Expected \`reasoning\` ${JSON.stringify(reply.reasoning)} (what the server sent), got ${JSON.stringify(result.reasoning)}`;
  if (context.capabilities.tools) {
    const expected = (reply.toolCalls ?? []).map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
    if (JSON.stringify(result.toolCalls ?? []) !== JSON.stringify(expected))
      return `Expected \`toolCalls\` ${JSON.stringify(expected)} (what the server sent), got ${JSON.stringify(result.toolCalls)}`;
  }
  return undefined;
}
