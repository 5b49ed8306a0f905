/**
 * requestSent: what the caller asked for is what the server got. The suite sends requests that
 * carry what the port's `ChatRequest` can (sampling, budget, stop words, tools and `tool_choice`,
 * `thinking`, `extra`, and a history with names, tool calls, their ids, tool answers and
 * reasoning), reads the JSON body the server received, and requires each field the request gave
 * there as the chat-completions format spells it (`wire-fields.ts`). An adapter may add fields
 * (a vendor's defaults), and it may change or drop one where it says so in a `note` naming it, as
 * the Kimi and GLM presets do under their vendors' rules; it may refuse a request before sending
 * anything (`INVALID_REQUEST`), as `requestUntouched` allows.
 */
import { TroupeError } from '../../core/errors.js';
import type { ChatMessage, ChatRequest, ChatResponse } from '../../providers/port.js';
import type { FastCheck } from '../fast-check.js';
import type { OpenAIServer } from '../openai-server.js';
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  onWire,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase, needsServer } from './property.js';
import { type RequestFields, wireDifference } from './wire-fields.js';

interface SentCase {
  readonly kind: CallKind;
  readonly history: readonly ChatMessage[];
  readonly fields: RequestFields;
}

export const requestSent: ContractProperty = {
  name: 'requestSent',
  title: 'every field of the request reaches the wire, as the chat-completions format spells it',
  skip: needsServer,
  // Every field at once, once for each way of calling: no dropped field is left to the draw. The
  // values are ones GLM and Kimi take (one stop word, `tool_choice` `auto`); where a model's rules
  // refuse one (kimi-k2.6 fixes `temperature`), the rest is sent again without it. Then the values
  // a careless mapping loses and a draw seldom gives: `temperature` 0 (lost to a truthiness test),
  // two stop words, two user turns in a row and a system message after them (merged or moved).
  examples(context) {
    return callKinds(context).flatMap((kind): SentCase[] => {
      const { tools, thinking } = context.capabilities;
      return [
        {
          kind,
          history: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Look it up.', name: 'ada' },
            ...(tools ? toolRound('lookup', ['call_ex4mple_a', 'call_ex4mple_b'], thinking, true) : []),
            { role: 'assistant', content: 'Found it.', ...(thinking ? { reasoning_content: 'done' } : {}) },
          ],
          fields: {
            temperature: 0.5,
            top_p: 0.9,
            max_tokens: 321,
            stop: 'END',
            ...(tools ? { tools: [toolDefinition('lookup')], tool_choice: 'auto' } : {}),
            ...(thinking ? { thinking: 'enabled' as const } : {}),
            // `extra.max_tokens` too: the typed one must win over it.
            extra: {
              response_format: { type: 'json_object' },
              seed: 7,
              x_trace: 'ex4mple',
              max_tokens: 4096,
            },
          },
        },
        {
          kind,
          history: [
            { role: 'user', content: 'First question.' },
            { role: 'user', content: 'And a second.' },
            { role: 'system', content: 'Answer both.' },
          ],
          fields: { temperature: 0, stop: ['END', 'STOP'] },
        },
      ];
    });
  },
  build(fc, context) {
    const arbitrary = fc.record({
      kind: fc.constantFrom(...callKinds(context)),
      history: historyArbitrary(fc, context),
      fields: fieldsArbitrary(fc, context),
    });
    return erase(fc.asyncProperty(arbitrary, (c: SentCase) => checkSent(context, c)));
  },
};

function toolDefinition(name: string) {
  return {
    type: 'function',
    function: {
      name,
      description: `Looks ${name} up`,
      parameters: { type: 'object', properties: { q: { type: 'string' } } },
    },
  };
}

/**
 * An assistant turn with tool calls (`content: null`, as OpenAI sends it beside them) and their
 * answers; `named`: each answer names its tool, as Moonshot's tool-call guide sends it
 * (`{"role": "tool", "tool_call_id": ..., "name": ..., "content": ...}`). OpenAI's own type for a
 * tool message has no `name`, so an adapter that builds its messages from that type loses it.
 */
function toolRound(name: string, ids: readonly string[], thinking: boolean, named: boolean): ChatMessage[] {
  return [
    {
      role: 'assistant',
      content: null,
      tool_calls: ids.map((id, i) => ({
        id,
        type: 'function',
        function: { name, arguments: JSON.stringify({ q: `${name}${i}` }) },
      })),
      // Kimi refuses a thinking request whose tool-call turns lack it; a caller echoes it back.
      ...(thinking ? { reasoning_content: `calling ${name}` } : {}),
    },
    ...ids.map(
      (id, i): ChatMessage => ({
        role: 'tool',
        tool_call_id: id,
        content: `result ${i}`,
        ...(named ? { name } : {}),
      }),
    ),
  ];
}

function historyArbitrary(fc: FastCheck, context: ContractContext) {
  const { tools, thinking } = context.capabilities;
  const text = fc.string({ maxLength: 16 });
  const plain = fc
    .record({
      role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const),
      content: text,
      name: fc.option(fc.stringMatching(/^[a-z]{1,8}$/), { nil: undefined }),
      reasoning: thinking ? fc.option(text, { nil: undefined }) : fc.constant(undefined),
    })
    .map(({ role, content, name, reasoning }): ChatMessage[] => [
      {
        role,
        content,
        ...(name === undefined ? {} : { name }),
        ...(reasoning === undefined || role !== 'assistant' ? {} : { reasoning_content: reasoning }),
      },
    ]);
  const round = fc.record({
    name: fc.stringMatching(/^[a-z][a-z_]{0,11}$/),
    calls: fc.integer({ min: 1, max: 2 }),
    named: fc.boolean(),
  });
  const turn = tools ? fc.oneof(plain, round) : plain;
  return fc.array(turn, { maxLength: 3 }).map((turns) =>
    // Ids unique within the request, as a model gives them.
    turns.flatMap((t, i) =>
      Array.isArray(t)
        ? t
        : toolRound(
            t.name,
            Array.from({ length: t.calls }, (_, j) => `call_${i}${j}_${t.name}`),
            thinking,
            t.named,
          ),
    ),
  );
}

function fieldsArbitrary(fc: FastCheck, context: ContractContext) {
  const { tools, thinking } = context.capabilities;
  const word = fc.string({ minLength: 1, maxLength: 8 });
  // Two decimal places mostly (what GLM sends as given), finer now and then (GLM rounds, with a note).
  const unit = (min: number) =>
    fc.oneof(
      fc.integer({ min: min * 100, max: 100 }).map((n) => n / 100),
      fc.double({ min, max: 1, noNaN: true }),
    );
  return fc.record(
    {
      temperature: unit(0),
      top_p: unit(0.01),
      max_tokens: fc.integer({ min: 1, max: 8192 }),
      stop: fc.oneof(word, fc.array(word, { minLength: 1, maxLength: 4 })),
      ...(tools
        ? {
            tools: fc.array(fc.stringMatching(/^[a-z][a-z_]{0,11}$/).map(toolDefinition), {
              minLength: 1,
              maxLength: 2,
            }),
            tool_choice: fc.constantFrom<unknown>('auto', 'none', 'required', {
              type: 'function',
              function: { name: 'lookup' },
            }),
          }
        : {}),
      ...(thinking ? { thinking: fc.constantFrom('enabled' as const, 'disabled' as const) } : {}),
      extra: fc.record(
        {
          response_format: fc.constantFrom({ type: 'json_object' }, { type: 'text' }),
          seed: fc.nat(1000),
          x_trace: fc.stringMatching(/^[a-z0-9]{1,8}$/),
          // The budget under either name, as a caller passes a vendor's own spelling through.
          max_tokens: fc.integer({ min: 1, max: 8192 }),
          max_completion_tokens: fc.integer({ min: 1, max: 8192 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ) as unknown as import('fast-check').Arbitrary<RequestFields>;
}

async function checkSent(context: ContractContext, c: SentCase): Promise<void> {
  const server = context.server as OpenAIServer;
  const nonce = context.script({ content: 'sent' });
  const built: ChatRequest = {
    model: context.model,
    messages: [...c.history, { role: 'user', content: `Answer the contract check ${nonce}` }],
    ...c.fields,
  };
  // Plain objects, as callers build them (fast-check's records have no prototype).
  let request = JSON.parse(JSON.stringify(built)) as ChatRequest;
  let outcome = await call(context, c.kind, request);
  // A vendor's rules may refuse a field before anything is sent (as `requestUntouched` allows):
  // the rest of the request is still held, sent again without the field the refusal names.
  for (let refused = refusedField(server, nonce, outcome.error, request); refused !== undefined; ) {
    request = without(request, refused);
    outcome = await call(context, c.kind, request);
    refused = refusedField(server, nonce, outcome.error, request);
  }
  if (refusedUpFront(server, nonce, outcome.error)) return; // refused whole: nothing went out
  const wire = await onWire(server, nonce);
  if (wire === undefined)
    throw new Error(
      `Expected ${c.kind}()'s request on the wire, got none${outcome.error === undefined ? '' : ` (it failed: ${brief(outcome.error)})`}`,
    );
  const difference = wireDifference(request, wire.body, {
    kind: c.kind,
    notes: outcome.notes,
    thinking: context.capabilities.thinking,
  });
  if (difference !== undefined)
    throw new Error(
      `${difference} (${c.kind}()${outcome.error === undefined ? '' : `, which failed: ${brief(outcome.error)}`})`,
    );
}

function refusedUpFront(server: OpenAIServer, nonce: string, error: unknown): error is TroupeError {
  return (
    error instanceof TroupeError &&
    error.code === 'INVALID_REQUEST' &&
    !server.requests.some((r) => JSON.stringify(r.body ?? '').includes(nonce))
  );
}

/** The field of `request` (or of its `extra`) a refusal names first, as "Expected `stop` ...". */
function refusedField(
  server: OpenAIServer,
  nonce: string,
  error: unknown,
  request: ChatRequest,
): string | undefined {
  if (!refusedUpFront(server, nonce, error)) return undefined;
  const name = /`([a-z_]+)`/.exec(error.message)?.[1];
  if (name === undefined || name === 'model' || name === 'messages') return undefined;
  return name in request || name in (request.extra ?? {}) ? name : undefined;
}

function without(request: ChatRequest, field: string): ChatRequest {
  const { [field]: _dropped, ...rest } = request as unknown as Record<string, unknown>;
  if (request.extra === undefined || !(field in request.extra)) return rest as unknown as ChatRequest;
  const { [field]: _fromExtra, ...extra } = request.extra;
  return { ...(rest as unknown as ChatRequest), extra };
}

/** The call run to its end: its notes (what the adapter says it changed), or its error. */
async function call(
  context: ContractContext,
  kind: CallKind,
  request: ChatRequest,
): Promise<{ readonly notes: readonly string[]; readonly error?: unknown }> {
  const signal = new AbortController().signal;
  if (kind === 'complete') {
    const done = await completeOf(context, request, signal).within(5000);
    if (done.state === 'rejected') return { notes: [], error: done.error };
    return { notes: (done.value as ChatResponse | undefined)?.notes ?? [] };
  }
  const reader = streamOf(context, request, signal, kind);
  reader.until = Date.now() + 5000;
  await reader.read();
  const notes = reader.deltas.flatMap((d) => (d.type === 'note' ? [d.text] : []));
  if (reader.end?.kind === 'threw') return { notes, error: reader.end.error };
  return { notes };
}
