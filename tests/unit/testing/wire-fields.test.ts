/**
 * requestSent's reading of a body (src/testing/contract/wire-fields.ts): the chat-completions
 * format's other spellings pass, a field a note names may change, and a dropped or changed field
 * is named with what was given and what came.
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../../src/providers/port.js';
import { wireDifference } from '../../../src/testing/contract/wire-fields.js';

const request: ChatRequest = {
  model: 'm',
  messages: [
    { role: 'user', content: 'q', name: 'ada' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'r' },
  ],
  temperature: 0.5,
  top_p: 0.9,
  max_tokens: 300,
  stop: 'END',
  extra: { response_format: { type: 'json_object' }, max_tokens: 900 },
};
const reading = { kind: 'complete' as const, notes: [], thinking: false };
// biome-ignore lint/suspicious/noExplicitAny: a parsed body, edited by path
type Wire = Record<string, any>;
const body = (): Wire =>
  JSON.parse(JSON.stringify({ ...request, ...request.extra, max_tokens: 300, extra: undefined }));

describe('wireDifference', () => {
  it('takes the body as the request gave it, and added fields', () => {
    expect(wireDifference(request, { ...body(), do_sample: true }, reading)).toBeUndefined();
  });

  it('takes the format’s other spellings', () => {
    const wire = body();
    delete wire.max_tokens;
    wire.max_completion_tokens = 300;
    wire.stop = ['END'];
    wire.messages[0].content = [{ type: 'text', text: 'q' }];
    wire.messages[1].content = '';
    wire.messages.unshift({ role: 'system', content: 'a prompt of the adapter’s own' });
    expect(wireDifference(request, wire, reading)).toBeUndefined();
  });

  it('takes a change a note of the call names', () => {
    const wire = { ...body(), temperature: 0.01 };
    expect(
      wireDifference(request, wire, { ...reading, notes: ['sent `temperature` 0.5 as 0.01'] }),
    ).toBeUndefined();
    expect(wireDifference(request, wire, reading)).toBe('Expected `temperature` 0.5 on the wire, got 0.01');
  });

  it('names each field dropped or changed', () => {
    const cases: [(wire: Wire) => void, string][] = [
      [(w) => delete w.top_p, 'Expected `top_p` 0.9 on the wire, got none'],
      [
        (w) => delete w.response_format,
        'Expected `response_format` {"type":"json_object"} on the wire, got none (from `extra`, which goes as it is)',
      ],
      [
        (w) => (w.max_tokens = 900),
        'Expected `max_tokens` 300 on the wire (or as `max_completion_tokens`), got `max_tokens` 900',
      ],
      [
        (w) => delete w.messages[1].tool_calls[0].id,
        'Expected `messages[1].tool_calls[0].id` "call_1" on the wire, got none',
      ],
      [
        (w) => delete w.messages[2].tool_call_id,
        'Expected `messages[2].tool_call_id` "call_1" on the wire, got none',
      ],
      [
        (w) => (w.stream_options = { include_usage: true }),
        'Expected no `stream_options` on the wire for complete(), got {"include_usage":true} (OpenAI refuses `stream_options` without `stream: true`)',
      ],
    ];
    for (const [change, message] of cases) {
      const wire = body();
      change(wire);
      expect(wireDifference(request, wire, reading) ?? '').toBe(message);
    }
  });

  // A review (2026-12-05): a correct adapter on the `openai` SDK that sends `tool_choice` only
  // beside tools, as OpenAI requires, failed requestSent on every request drawn without tools.
  it('takes `tool_choice` and an empty `tools` left out of a request with no tools, and holds them beside tools', () => {
    const toolless: ChatRequest = { ...request, tool_choice: 'auto' };
    expect(wireDifference(toolless, body(), reading)).toBeUndefined();
    expect(wireDifference({ ...toolless, tools: [] }, body(), reading)).toBeUndefined();
    expect(
      wireDifference({ ...toolless, tool_choice: 'none' }, { ...body(), tool_choice: 'auto' }, reading),
    ).toBe('Expected `tool_choice` "none" on the wire, got "auto"');
    const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } };
    const withTools: ChatRequest = { ...toolless, tools: [tool] };
    expect(wireDifference(withTools, { ...body(), tools: [tool] }, reading)).toBe(
      'Expected `tool_choice` "auto" on the wire, got none',
    );
  });

  // The same review: each of these passed requestSent.
  it('names a copy of a caller’s message, an `n` asking for more choices, and a message out of order', () => {
    const duplicated = body();
    duplicated.messages.unshift({ ...duplicated.messages[0] });
    expect(wireDifference(request, duplicated, reading)).toBe(
      'Expected messages[0] (user, content "q") on the wire once, as given, got it 2 times',
    );
    expect(wireDifference(request, { ...body(), n: 2 }, reading)).toBe(
      'Expected no `n` on the wire (or 1: the port reads one choice, and each is billed), got 2',
    );
    expect(wireDifference(request, { ...body(), n: 1 }, reading)).toBeUndefined();
    expect(wireDifference({ ...request, extra: { n: 2 } }, { ...body(), n: 2 }, reading)).toBeUndefined();
    const moved = body();
    moved.messages.unshift(moved.messages.pop());
    expect(wireDifference(request, moved, reading)).toBe(
      'Expected messages[2] (tool, content "r") on the wire, in order, got it earlier, as the wire’s messages[0] (out of order; the wire’s roles: tool, user, assistant)',
    );
  });

  it('names where inside a value the wire differs, so the two values shown differ', () => {
    const tool = {
      type: 'function',
      function: { name: 'f', description: 'd'.repeat(90), parameters: { a: 1 } },
    };
    const wire = { ...body(), tools: [{ ...tool, function: { ...tool.function, parameters: undefined } }] };
    expect(wireDifference({ ...request, tools: [tool] }, JSON.parse(JSON.stringify(wire)), reading)).toBe(
      'Expected `tools[0].function.parameters` {"a":1} on the wire, got none',
    );
    const strict = { ...body(), tools: [{ ...tool, function: { ...tool.function, strict: true } }] };
    expect(wireDifference({ ...request, tools: [tool] }, strict, reading)).toBe(
      'Expected no `tools[0].function.strict` on the wire (the request gave none), got true',
    );
  });

  it('wants `stream: true` on a stream', () => {
    expect(wireDifference(request, body(), { ...reading, kind: 'stream' })).toBe(
      'Expected `stream` true on the wire, got none',
    );
  });
});
