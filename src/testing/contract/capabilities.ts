/**
 * capabilities: an adapter is held to what it declares, as in LangChain's standard tests.
 * `tools`: the tools reach the server and tool calls come back whole and as fragments;
 * `thinking`: `reasoning_content` comes back as `reasoning` and as reasoning deltas;
 * `files`: each file's text reaches the model, and files uploaded for the call are deleted after it.
 * (`streaming` is held by `streamContract`.)
 */
import { isDeepStrictEqual } from 'node:util';
import type { ChatRequest, ChatResponse, ToolCall } from '../../providers/port.js';
import { assembleToolCalls } from '../../providers/tool-calls.js';
import type { OpenAIServer } from '../openai-server.js';
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  onWire,
  pollUntil,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase, needsServer } from './property.js';

type Capability = 'tools' | 'thinking' | 'files';

const declared = (context: ContractContext): Capability[] =>
  (['tools', 'thinking', 'files'] as const).filter((c) => context.capabilities[c]);

export const capabilities: ContractProperty = {
  name: 'capabilities',
  title: 'each declared capability (tools, thinking, files) works, whole and streamed',
  skip: (context) =>
    needsServer(context) ??
    (declared(context).length === 0 ? 'declares no tools, thinking or files' : undefined),
  // Every declared capability, whole and streamed, before the random cases: no bug that touches
  // one capability in one kind (reasoning dropped from streams only) is left to the draw.
  examples(context) {
    return declared(context).flatMap((capability) =>
      callKinds(context).map((kind) => ({ capability, kind, name: 'lookup', text: 'ex4mple', count: 2 })),
    );
  },
  build(fc, context) {
    const arbitrary = fc.record({
      capability: fc.constantFrom(...declared(context)),
      kind: fc.constantFrom(...callKinds(context)),
      // With its index, 3 characters at least: Moonshot refuses a function name of fewer (docs/providers.md).
      name: fc.stringMatching(/^[a-z][a-z_]{1,11}$/),
      text: fc.stringMatching(/^[a-z0-9]{4,24}$/),
      count: fc.integer({ min: 1, max: 2 }),
    });
    return erase(fc.asyncProperty(arbitrary, (c) => checkCapability(context, c)));
  },
};

interface CapabilityCase {
  readonly capability: Capability;
  readonly kind: CallKind;
  readonly name: string;
  readonly text: string;
  readonly count: number;
}

async function checkCapability(context: ContractContext, c: CapabilityCase): Promise<void> {
  const server = context.server as OpenAIServer;
  const calls = Array.from({ length: c.count }, (_, i) => ({
    id: `call_${c.text}_${i}`,
    name: `${c.name}${i}`,
    arguments: JSON.stringify({ q: c.text, i }),
  }));
  const marker = `filetext${c.text}`;
  const reply =
    c.capability === 'tools'
      ? // As OpenAI answers a tool call: `content: null`, which the port's `content` gives as ''.
        { content: null, toolCalls: calls, finishReason: 'tool_calls' }
      : c.capability === 'thinking'
        ? { content: `answer ${c.text}`, reasoning: `thinking about ${c.text}` }
        : { content: `read ${c.text}` };
  const nonce = context.script(reply);
  const tools = calls.map((call) => ({
    type: 'function',
    function: { name: call.name, parameters: { type: 'object', properties: { q: { type: 'string' } } } },
  }));
  const request: ChatRequest = {
    model: context.model,
    messages: [{ role: 'user', content: `Answer the contract check ${nonce}` }],
    ...(c.capability === 'tools' ? { tools } : {}),
    ...(c.capability === 'thinking' ? { thinking: 'enabled' as const } : {}),
    ...(c.capability === 'files'
      ? {
          files: Array.from({ length: c.count }, (_, i) => ({
            name: `notes-${i}.txt`,
            data: `${marker}-${i}`,
          })),
        }
      : {}),
  };
  const filesBefore = new Set(server.files.keys());
  const result = await callFor(context, c.kind, request);
  if (typeof result === 'string')
    throw new Error(`Expected ${c.kind}() with ${c.capability} to succeed, got ${result}`);
  const wire = await onWire(server, nonce, 500);
  if (wire === undefined) throw new Error(`Expected the ${c.capability} request on the wire, got none`);
  const body = wire.body as Record<string, unknown>;

  if (c.capability === 'tools') {
    if (!isDeepStrictEqual(body.tools, tools))
      throw new Error(`Expected the request's tools on the wire, got ${JSON.stringify(body.tools)}`);
    const expected: ToolCall[] = calls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    if (JSON.stringify(result.toolCalls ?? []) !== JSON.stringify(expected))
      throw new Error(
        `Expected ${c.kind}() to return tool calls ${JSON.stringify(expected)}, got ${JSON.stringify(result.toolCalls)}`,
      );
    if (result.content !== '')
      throw new Error(
        `Expected ${c.kind}() to give \`content: null\` beside tool calls as '', got ${JSON.stringify(result.content)}`,
      );
  } else if (c.capability === 'thinking') {
    if (result.reasoning !== reply.reasoning)
      throw new Error(
        `Expected ${c.kind}() with thinking to return reasoning ${JSON.stringify(reply.reasoning)}, got ${JSON.stringify(result.reasoning)}`,
      );
    if (result.content !== reply.content)
      throw new Error(
        `Expected content ${JSON.stringify(reply.content)} beside the reasoning, got ${JSON.stringify(result.content)}`,
      );
  } else {
    const sent = JSON.stringify(body.messages);
    for (let i = 0; i < c.count; i++)
      if (!sent.includes(`${marker}-${i}`))
        throw new Error(
          `Expected file notes-${i}.txt's text to reach the model, got messages ${sent.slice(0, 200)}`,
        );
    const leftOver = await pollUntil(() => {
      const kept = [...server.files.values()].filter((f) => !filesBefore.has(f.id) && !f.deleted);
      return kept.length === 0 ? true : undefined;
    }, 1000);
    if (leftOver === undefined)
      throw new Error('Expected the files uploaded for the call to be deleted after it, got them kept');
  }
}

/** The call's result (streams assembled), or a description of its failure. */
async function callFor(
  context: ContractContext,
  kind: CallKind,
  request: ChatRequest,
): Promise<ChatResponse | string> {
  const signal = new AbortController().signal;
  if (kind === 'complete') {
    const call = await completeOf(context, request, signal).within(5000);
    if (call.state === 'resolved') return call.value as ChatResponse;
    return call.state === 'pending' ? 'no answer in 5 s' : brief(call.error);
  }
  const reader = streamOf(context, request, signal, kind);
  reader.until = Date.now() + 5000;
  await reader.read();
  if (reader.end === undefined) return 'no end in 5 s';
  if (reader.end.kind === 'threw') return brief(reader.end.error);
  const text = (type: 'content' | 'reasoning') =>
    reader.deltas.flatMap((d) => (d.type === type ? [d.text] : [])).join('');
  const toolCalls = assembleToolCalls(reader.deltas);
  const reasoning = text('reasoning');
  return {
    content: text('content'),
    ...(reasoning === '' ? {} : { reasoning }),
    ...(toolCalls.length === 0 ? {} : { toolCalls }),
  };
}
