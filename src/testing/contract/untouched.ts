/**
 * requestUntouched: the request is the caller's. The suite passes deeply frozen requests (a write
 * throws) and unfrozen copies (compared with a snapshot afterwards).
 */
import { isDeepStrictEqual } from 'node:util';
import { TroupeError } from '../../core/errors.js';
import type { ChatRequest } from '../../providers/port.js';
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  deepFreeze,
  errorText,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase } from './property.js';

export const requestUntouched: ContractProperty = {
  name: 'requestUntouched',
  title: 'the request is never written to (deeply frozen requests work; unfrozen ones come back equal)',
  skip: () => undefined,
  // The plainest request for each way of calling, frozen and not, first: an adapter that never
  // settles fails on a fixed case, not on a drawn one shrunk 5 s a step.
  examples: (context) =>
    callKinds(context).flatMap((kind) =>
      [false, true].map((frozen) => ({ kind, frozen, history: [], tool: false })),
    ),
  build(fc, context) {
    const { tools, thinking } = context.capabilities;
    const text = fc.string({ maxLength: 20 });
    const arbitrary = fc.record({
      kind: fc.constantFrom(...callKinds(context)),
      frozen: fc.boolean(),
      history: fc.array(
        fc.record({
          role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const),
          content: text,
        }),
        { maxLength: 3 },
      ),
      temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      max_tokens: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }),
      // Values every vendor accepts (GLM: one stop word; Kimi and GLM: temperature up to 1).
      stop: fc.option(fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 1 })), { nil: undefined }),
      extra: fc.option(fc.dictionary(fc.stringMatching(/^x_[a-z]{1,6}$/), text, { maxKeys: 2 }), {
        nil: undefined,
      }),
      tool: tools ? fc.boolean() : fc.constant(false),
      thinking: thinking
        ? fc.option(fc.constantFrom('enabled' as const, 'disabled' as const), { nil: undefined })
        : fc.constant(undefined),
    });
    return erase(
      fc.asyncProperty(arbitrary, async (c) => {
        const nonce = context.script({ content: 'untouched' });
        const built: ChatRequest = {
          model: context.model,
          messages: [...c.history, { role: 'user', content: `Answer the contract check ${nonce}` }],
          ...(c.temperature === undefined ? {} : { temperature: c.temperature }),
          ...(c.max_tokens === undefined ? {} : { max_tokens: c.max_tokens }),
          ...(c.stop === undefined ? {} : { stop: c.stop }),
          ...(c.extra === undefined ? {} : { extra: c.extra }),
          ...(c.thinking === undefined ? {} : { thinking: c.thinking }),
          ...(c.tool
            ? {
                tools: [
                  {
                    type: 'function',
                    function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
                  },
                ],
              }
            : {}),
        };
        // Plain objects, as callers build them (fast-check's records have no prototype).
        const request = JSON.parse(JSON.stringify(built)) as ChatRequest;
        const snapshot = structuredClone(request);
        const given = c.frozen ? deepFreeze(structuredClone(request)) : request;
        const error = await run(context, c.kind, given);
        // Until 2026-12-07 a call still pending was checked as a success: 5 s a run, and a vitest
        // test of the property timed out with no message.
        if (error === PENDING)
          throw new Error(
            `Expected ${c.kind}() on a ${c.frozen ? 'deeply frozen' : 'plain'} request to settle within 5 s, got it ${c.kind === 'complete' ? 'pending' : 'still going'}`,
          );
        if (
          error !== undefined &&
          (context.server !== undefined || isWriteError(error)) &&
          !refusedUpFront(context, error, nonce)
        )
          throw new Error(
            `Expected ${c.kind}() on a ${c.frozen ? 'deeply frozen' : 'plain'} request to succeed, got ${brief(error)}${isWriteError(error) ? ' (a write to the request)' : ''}`,
          );
        if (!isDeepStrictEqual(given, snapshot))
          throw new Error(
            `Expected the request to be left as given, got it changed to ${JSON.stringify(given).slice(0, 200)}`,
          );
      }),
    );
  },
};

/** A call that had not ended when the suite stopped waiting. */
const PENDING = Symbol('pending');

/** What the call threw, `undefined` when it succeeded, `PENDING` when it had not ended in 5 s. */
async function run(context: ContractContext, kind: CallKind, request: ChatRequest): Promise<unknown> {
  const signal = new AbortController().signal;
  if (kind === 'complete') {
    const call = await completeOf(context, request, signal).within(5000);
    return call.state === 'pending' ? PENDING : call.state === 'rejected' ? call.error : undefined;
  }
  const reader = streamOf(context, request, signal, kind);
  reader.until = Date.now() + 5000;
  await reader.read();
  if (reader.end === undefined) {
    // Nobody reads it further: end it, as a caller that gave up would.
    await reader.close(100);
    return PENDING;
  }
  return reader.end.kind === 'threw' ? reader.end.error : undefined;
}

/**
 * An adapter may refuse a request its vendor would refuse (a vendor's parameter rules), before
 * anything is sent: that is input checking, not a write, as long as nothing reached the wire.
 */
function refusedUpFront(context: ContractContext, error: unknown, nonce: string): boolean {
  if (!(error instanceof TroupeError) || error.code !== 'INVALID_REQUEST' || isWriteError(error))
    return false;
  return !context.server?.requests.some((r) => JSON.stringify(r.body ?? '').includes(nonce));
}

/** A write to a frozen object throws a TypeError; adapters may wrap it, so look through the chain. */
function isWriteError(error: unknown): boolean {
  return /read[- ]only|not extensible|Cannot (assign|add|delete|define)|object is not extensible|frozen/i.test(
    errorText(error),
  );
}
