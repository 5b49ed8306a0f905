/**
 * streamContract: what a consumer of `stream()` relies on. Deltas in order (they join to the
 * scripted answer); exactly one `finish`, last (or, when the server gave no `finish_reason` and
 * ended with `[DONE]`, none and a `note` last); `usage` at most once and adding up; tool-call
 * fragments consistent by index; after an abort the iterator ends by throwing; breaking out of
 * `for await` closes the connection.
 */
import { describe } from '../../core/errors.js';
import type { ChatDelta, ToolCall } from '../../providers/port.js';
import { assembleToolCalls } from '../../providers/tool-calls.js';
import type { SseStyle } from '../faults.js';
import type { Reply } from '../openai-server.js';
import {
  brief,
  type ContractContext,
  expectClosedAfterAbort,
  GRACE_MS,
  LateError,
  modelHint,
  onWire,
  pushedLateNote,
  requestFor,
  retryingLate,
  type StreamKind,
  streamKinds,
  streamOf,
} from './harness.js';
import { noteLeak } from './leak.js';
import { type ContractProperty, erase, FINISH_REASONS, finishRead } from './property.js';
import { replyArbitrary, type ScriptedReply, usageDiffers, usageOf } from './replies.js';

type Ending = 'read-all' | 'break' | 'abort';

/** The ways of writing events drawn besides the usual `data: {...}\n\n`, and how a failure names each. */
const SSE_SAYS: Readonly<Record<Exclude<SseStyle, 'plain'>, string>> = {
  crlf: 'with CRLF line ends',
  compact: 'as `data:{...}`, with no space',
  comments: 'among comment lines',
};
const SSE_DRAWN = Object.keys(SSE_SAYS) as Exclude<SseStyle, 'plain'>[];

export const streamContract: ContractProperty = {
  name: 'streamContract',
  title:
    'deltas in order, one finish last, usage at most once, tool fragments by index; abort and break end it',
  skip: (context) => (context.capabilities.streaming ? undefined : 'streaming not declared'),
  examples(context) {
    const { tools, thinking } = context.capabilities;
    const reply: ScriptedReply = {
      content: 'an answer in several pieces',
      finishReason: tools ? 'tool_calls' : 'stop',
      usage: { prompt_tokens: 11, completion_tokens: 7 },
      ...(thinking ? { reasoning: 'first, think' } : {}),
      ...(tools
        ? {
            toolCalls: [
              { id: 'call_a_0', name: 'lookup', arguments: '{"q":"one"}' },
              { id: 'call_b_1', name: 'fetch_page', arguments: '{"url":"two","n":2}' },
            ],
          }
        : {}),
    };
    // And one answer in multi-byte text whose bytes come a few at a time: events and characters
    // cut across reads, as a proxy or a compressing gateway delivers them.
    const cut: ScriptedReply = { ...reply, content: '多字节的回答, ünïcödé 🙂 across reads' };
    // And the last piece and the usage in the finish chunk, as some servers send them; and the
    // events in each other way the SSE spec allows.
    return streamKinds(context).flatMap((via) => [
      ...(['read-all', 'break', 'abort'] as const).map((ending) => ({ via, reply, ending, after: 2 })),
      { via, reply: cut, ending: 'read-all' as const, after: 2, split: 3 },
      { via, reply, ending: 'read-all' as const, after: 2, lastInFinish: true },
      ...SSE_DRAWN.map((sse) => ({ via, reply, ending: 'read-all' as const, after: 2, sse })),
      // And no finish_reason in any chunk, then `[DONE]`, as some servers end a whole answer.
      { via, reply, ending: 'read-all' as const, after: 2, noFinish: true },
    ]);
  },
  build(fc, context) {
    const arbitrary = fc.record(
      {
        via: fc.constantFrom(...streamKinds(context)),
        reply: replyArbitrary(fc, context),
        ending: fc.constantFrom<Ending>('read-all', 'read-all', 'break', 'abort'),
        after: fc.integer({ min: 1, max: 4 }),
        // For a read to the end: bytes a write, so events and characters are cut across reads.
        split: fc.integer({ min: 1, max: 24 }),
        // For a read to the end: the last piece and the usage in the finish chunk (until 2026-12-05
        // never, and an adapter that skipped the rest of the chunk that carries finish_reason passed).
        lastInFinish: fc.boolean(),
        // For a read to the end: the events written another way the SSE spec allows (until
        // 2026-12-05 always `data: {...}\n\n`, and a parser that knew only that passed).
        sse: fc.constantFrom(...SSE_DRAWN),
        // For a read to the end, one in four: no chunk gives a finish_reason, then `[DONE]` (until
        // 2026-12-05 never, and the rule for such a stream was tested on neither side).
        noFinish: fc.constantFrom(false, false, false, true),
      },
      { requiredKeys: ['via', 'reply', 'ending', 'after', 'lastInFinish'] },
    );
    return erase(
      fc.asyncProperty(arbitrary, (c) =>
        retryingLate(() =>
          checkStream(context, c.via, c.reply, c.ending, c.after, {
            split: c.split,
            lastInFinish: c.lastInFinish,
            sse: c.sse,
            noFinish: c.noFinish === true,
          }),
        ).catch((error: unknown) => {
          // Say which way of streaming broke; the error keeps its class (a LateError stays one).
          if (c.via === 'streamTo' && error instanceof Error) error.message = `streamTo(): ${error.message}`;
          throw error;
        }),
      ),
    );
  },
};

async function checkStream(
  context: ContractContext,
  via: StreamKind,
  scripted: ScriptedReply,
  ending: Ending,
  after: number,
  drawn: {
    readonly split?: number | undefined;
    readonly lastInFinish?: boolean;
    readonly sse?: Exclude<SseStyle, 'plain'> | undefined;
    /** No chunk gives a `finish_reason`; `[DONE]` ends the stream (`no-finish=1`). */
    readonly noFinish?: boolean;
  } = {},
) {
  const { split, sse } = drawn;
  const noFinish = ending === 'read-all' && drawn.noFinish === true;
  // The server puts nothing in a finish chunk it does not send.
  const lastInFinish = drawn.lastInFinish === true && !noFinish;
  const server = context.server;
  // A break or an abort must land while the server is still sending: pad the answer, slow the chunks.
  const reply: Reply =
    ending === 'read-all'
      ? scripted
      : { ...scripted, content: `${scripted.content ?? ''}${'.'.repeat(120)}` };
  const nonce = context.script(reply);
  const shape = [
    ...(split === undefined ? [] : [`split=${split}`]),
    ...(lastInFinish ? ['last-in-finish=1'] : []),
    ...(sse === undefined ? [] : [`sse=${sse}`]),
    ...(noFinish ? ['no-finish=1'] : []),
  ];
  const model =
    server === undefined
      ? context.model
      : ending !== 'read-all'
        ? 'fault:ok:chunk-ms=15:end-ms=300'
        : shape.length === 0
          ? context.model
          : `fault:ok:${shape.join(':')}`;
  const controller = new AbortController();
  const reader = streamOf(context, requestFor(context, nonce, model), controller.signal, via);
  reader.until = Date.now() + 5000;

  if (ending === 'read-all') {
    await reader.read();
    if (reader.end === undefined)
      throw new Error(`Expected the stream to end within 5 s, got ${reader.deltas.length} deltas and no end`);
    // An adapter that asks for usage in the stream must pass on what the server sent.
    const body = server === undefined ? undefined : (await onWire(server, nonce, 500))?.body;
    const options = (body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options;
    const usageAsked = options?.include_usage === true;
    // What this stream's server did that the usual one does not, so a failure says where to look.
    const sent = [
      ...(lastInFinish
        ? [`the last piece${usageAsked ? ' and the usage' : ''} in the chunk that carries finish_reason`]
        : []),
      ...(sse === undefined ? [] : [`its events ${SSE_SAYS[sse]}`]),
      ...(noFinish ? ['no finish_reason in any chunk, then [DONE]'] : []),
    ];
    const failure = (message: string) =>
      new Error(sent.length === 0 ? message : `${message} (the server sent ${sent.join(', and ')})`);
    // An adapter that cannot tell `[DONE]` from a cut body (the `openai` SDK's iterator does not say
    // which, and its own ChatCompletionStream refuses such a stream) may fail it as a cut: NETWORK.
    if (
      reader.end.kind === 'threw' &&
      noFinish &&
      (reader.end.error as { code?: unknown })?.code === 'NETWORK'
    )
      return;
    if (reader.end.kind === 'threw')
      throw failure(
        `Expected the stream to end normally${noFinish ? ' (a server that sends [DONE] ended it on purpose, whole, though it gave no finish_reason; only a body that ends without [DONE] was cut)' : ''}, got ${brief(reader.end.error)} after ${reader.deltas.length} deltas`,
      );
    const broken = deltaViolations(
      reader.deltas,
      server === undefined ? undefined : { reply, context, usageAsked, noFinish },
    );
    if (broken !== undefined)
      throw failure(via === 'streamTo' ? `${broken}${await pushedLateNote(reader)}` : broken);
    const notes = reader.deltas.flatMap((d) => (d?.type === 'note' ? [d.text] : []));
    const leaked = noteLeak(notes, context.apiKey);
    if (leaked !== undefined) throw failure(leaked);
    return;
  }

  const got = await reader.read(after);
  const readAt = Date.now();
  if (got !== 'count') {
    if (server === undefined) return; // a short answer: nothing left to break or abort
    throw new Error(
      `Expected ${after} deltas from a long, slow stream, got ${reader.deltas.length} (${got})`,
    );
  }
  // A short answer without a server whose finish came already: nothing left to break or abort.
  if (server === undefined && finishRead(reader.deltas)) return;
  const wire = server === undefined ? undefined : await onWire(server, nonce);
  if (server !== undefined && wire === undefined)
    throw new Error('Expected the streamed request on the wire, got none');
  // The server takes ~0.5 s to send this answer: the first deltas must come while it still sends.
  if (wire?.completed === true && (wire.closedAt ?? 0) <= readAt) {
    const hint = modelHint(context, nonce, model);
    if (hint !== '') throw new Error(`Expected a slow stream, got the whole answer at once${hint}`);
    throw new LateError(
      `Expected deltas as the server sends them, got the first ${after} only after the whole answer was sent (the stream waits for the end of the body)`,
    );
  }
  // ... and before its finish chunk: an adapter that held them back until then passed until
  // 2026-12-04, when only one that waited for the whole body was caught.
  if (wire?.finishSentAt !== undefined && wire.finishSentAt <= readAt) {
    throw new LateError(
      `Expected deltas as the server sends them, got the first ${after} only after the server sent its finish chunk (the stream holds its deltas back until the end)`,
    );
  }
  const at = Date.now();
  if (ending === 'break') {
    await reader.close(context.abortWithinMs + GRACE_MS);
  } else {
    controller.abort();
    reader.until = at + context.abortWithinMs + GRACE_MS;
    await reader.read();
    if (reader.endedBeforeAbort) return; // a pushed stream that had ended: nothing to abort
    if (reader.end === undefined)
      throw new LateError(
        `Expected the iterator to end within ${context.abortWithinMs} ms of an abort, got it still going (${reader.deltas.length} deltas)`,
      );
    if (reader.end.kind === 'done')
      throw new Error('Expected the iterator to end by throwing after an abort, got a normal end');
    const finishes = reader.deltas.filter((d) => d.type === 'finish').length;
    if (finishes > 0) throw new Error(`Expected no \`finish\` from an aborted stream, got ${finishes}`);
  }
  if (wire !== undefined) {
    await expectClosedAfterAbort(
      context,
      wire,
      at,
      ending === 'abort'
        ? 'the abort'
        : via === 'streamTo'
          ? 'the abort that stops a pushed stream'
          : 'breaking out of `for await`',
    );
  }
}

/** Checks a whole stream's deltas; with a script, against what the server was told to send. */
export function deltaViolations(
  deltas: readonly ChatDelta[],
  scripted?: {
    readonly reply: Reply;
    readonly context: ContractContext;
    /** The request asked for usage (`stream_options.include_usage`), so the server sent it. */
    readonly usageAsked?: boolean;
    /** The server gave no `finish_reason` and ended with `[DONE]` (`no-finish=1`). */
    readonly noFinish?: boolean;
  },
): string | undefined {
  // `note` (what an adapter changed in the request) and `web_search` (GLM's results) are port deltas too.
  const kinds = new Set(['content', 'reasoning', 'tool_call', 'usage', 'web_search', 'note', 'finish']);
  for (const [i, delta] of deltas.entries()) {
    if (typeof delta !== 'object' || delta === null || !kinds.has((delta as { type?: string }).type ?? ''))
      return `Expected delta #${i} to be a content, reasoning, tool_call, usage, web_search, note or finish delta, got ${JSON.stringify(delta)}`;
    if (
      (delta.type === 'content' || delta.type === 'reasoning' || delta.type === 'note') &&
      typeof delta.text !== 'string'
    )
      return `Expected delta #${i} (${delta.type}) to carry a string \`text\`, got ${JSON.stringify(delta)}`;
    if (delta.type === 'web_search' && !Array.isArray(delta.results))
      return `Expected delta #${i} (web_search) to carry an array of \`results\`, got ${JSON.stringify(delta)}`;
  }
  const finishes = deltas.filter((d) => d.type === 'finish');
  const unsaid = scripted?.noFinish === true;
  const wrongEnd = unsaid ? unsaidViolation(deltas) : finishViolation(deltas, scripted === undefined);
  if (wrongEnd !== undefined) return wrongEnd;
  // No reason to check when the stream ended without one (a `note` last says why).
  const reason = finishes.length === 0 ? undefined : (finishes[0] as { reason: unknown }).reason;
  if (finishes.length > 0 && (typeof reason !== 'string' || reason === ''))
    return `Expected a finish reason, got ${JSON.stringify(reason)}`;
  const usages = deltas.filter((d): d is Extract<ChatDelta, { type: 'usage' }> => d.type === 'usage');
  if (usages.length > 1) return `Expected \`usage\` at most once, got ${usages.length} times`;
  if (usages[0] !== undefined) {
    const wrong = usageViolation(usages[0].usage);
    if (wrong !== undefined) return wrong;
  }
  const fragments = deltas.filter(
    (d): d is Extract<ChatDelta, { type: 'tool_call' }> => d.type === 'tool_call',
  );
  const ids = new Map<number, string>();
  for (const f of fragments) {
    if (!Number.isInteger(f.index) || f.index < 0)
      return `Expected tool-call fragments to carry an index >= 0, got ${JSON.stringify(f)}`;
    if (f.id !== undefined && f.id !== '') {
      const seen = ids.get(f.index);
      if (seen !== undefined && seen !== f.id)
        return `Expected the fragments of tool call ${f.index} to keep one id, got \`${seen}\` then \`${f.id}\``;
      ids.set(f.index, f.id);
    }
  }
  if (scripted === undefined) return undefined;

  const { reply, context } = scripted;
  const joined = (type: 'content' | 'reasoning') =>
    deltas.flatMap((d) => (d.type === type ? [d.text] : [])).join('');
  if (joined('content') !== (reply.content ?? ''))
    return `Expected the content deltas to join to ${JSON.stringify(reply.content ?? '')}, got ${JSON.stringify(joined('content'))}`;
  if (context.capabilities.thinking && joined('reasoning') !== (reply.reasoning ?? ''))
    return `Expected the reasoning deltas to join to ${JSON.stringify(reply.reasoning ?? '')}, got ${JSON.stringify(joined('reasoning'))}`;
  if (!unsaid && reason !== reply.finishReason)
    return `Expected finish reason \`${reply.finishReason}\`, got \`${String(reason)}\``;
  if (scripted.usageAsked === true && usages[0] === undefined && reply.usage !== undefined)
    return `Expected usage ${JSON.stringify(usageOf(reply.usage))} (the request asked for it with \`stream_options.include_usage\` and the server sent it), got none`;
  if (usages[0] !== undefined && reply.usage !== undefined) {
    if (usageDiffers(usages[0].usage, reply.usage))
      return `Expected usage ${JSON.stringify(usageOf(reply.usage))}, got ${JSON.stringify(usages[0].usage)}`;
  }
  if (context.capabilities.tools) {
    const expected: ToolCall[] = (reply.toolCalls ?? []).map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    const assembled = assembleToolCalls(fragments);
    if (JSON.stringify(assembled) !== JSON.stringify(expected))
      return `Expected the tool-call fragments to assemble to ${JSON.stringify(expected)}, got ${JSON.stringify(assembled)}`;
  }
  return undefined;
}

/**
 * How a stream whose server gave a reason must end: one `finish`, last. Without a server to say
 * (`reasonless`), it may also end with no `finish` and a `note` last, as one without a reason does.
 */
function finishViolation(deltas: readonly ChatDelta[], reasonless: boolean): string | undefined {
  const finishes = deltas.filter((d) => d.type === 'finish').length;
  if (finishes === 0 && reasonless && deltas.at(-1)?.type === 'note') return undefined;
  if (finishes !== 1)
    return `Expected exactly one \`finish\` delta${reasonless ? ' (or none and a `note` last, saying why)' : ''}, got ${finishes}`;
  if (deltas.at(-1)?.type !== 'finish')
    return `Expected \`finish\` to be the last delta, got it at #${deltas.findIndex((d) => d.type === 'finish')} of ${deltas.length}`;
  return undefined;
}

/**
 * How a stream whose server gave no `finish_reason` and ended with `[DONE]` must end: a whole
 * answer with no `finish`, and a `note` last saying why (any text). A reason the adapter made up
 * (`stop` claims the model stopped on its own) is refused.
 */
function unsaidViolation(deltas: readonly ChatDelta[]): string | undefined {
  const finish = deltas.find((d) => d.type === 'finish');
  if (finish !== undefined)
    return `Expected no \`finish\` delta, got \`finish\` ${JSON.stringify(finish.reason)}: the server gave no finish_reason; report none, with a note, rather than \`${String(finish.reason)}\``;
  const last = deltas.at(-1);
  if (last?.type !== 'note')
    return `Expected a \`note\` as the last delta, saying why the stream has no \`finish\` (the server gave no finish_reason), got ${last === undefined ? 'no deltas' : `a \`${last.type}\` delta`}`;
  return undefined;
}

/** Usage counts: non-negative integers that add up. */
export function usageViolation(usage: unknown): string | undefined {
  const u = usage as Record<string, unknown> | null;
  const counts = ['promptTokens', 'completionTokens', 'totalTokens'] as const;
  const expected = 'Expected usage to be non-negative integer promptTokens, completionTokens and totalTokens';
  if (typeof u !== 'object' || u === null) return `${expected}, got ${describe(usage)}`;
  const wrong = counts.find((k) => !Number.isInteger(u[k]) || (u[k] as number) < 0);
  // Named with its own text: JSON shows a `NaN` or `Infinity` as `null` and leaves an `undefined` out.
  if (wrong !== undefined)
    return `${expected}, got \`${wrong}\` ${describe(u[wrong])} in ${JSON.stringify(usage)}`;
  if ((u.promptTokens as number) + (u.completionTokens as number) !== u.totalTokens)
    return `Expected usage totalTokens to be promptTokens + completionTokens, got ${JSON.stringify(usage)}`;
  return undefined;
}

export const isFinishReason = (value: unknown): boolean =>
  typeof value === 'string' && (FINISH_REASONS as readonly string[]).includes(value);
