import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import type { ChatDelta, ChatRequest } from '../../../src/providers/port.js';
import { assembleToolCalls } from '../../../src/providers/tool-calls.js';
import { pooledAgentCount } from '../../../src/providers/transport.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-test-openai-compatible-0123456789';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setResponder(undefined);
});

function provider(extra: Partial<Parameters<typeof createOpenAICompatibleProvider>[0]> = {}) {
  return createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY, ...extra });
}

const signal = () => new AbortController().signal;
const ask = (content: string, more: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'echo-1',
  messages: [{ role: 'user', content }],
  ...more,
});

async function collect(stream: AsyncIterable<ChatDelta>): Promise<ChatDelta[]> {
  const deltas: ChatDelta[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

const TOOL_REPLY = {
  content: 'Let me look.',
  reasoning: 'The user wants the weather.',
  toolCalls: [
    { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
    { id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
  ],
};

describe('openai-compatible adapter over real HTTP', () => {
  it('completes: content, reasoning, tool calls, usage, finish reason and model', async () => {
    server.setResponder(() => TOOL_REPLY);
    const p = provider();
    const response = await p.complete(ask('weather?'), { signal: signal() });
    expect(response).toEqual({
      content: 'Let me look.',
      reasoning: 'The user wants the weather.',
      toolCalls: TOOL_REPLY.toolCalls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      })),
      usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 },
      finishReason: 'tool_calls',
      model: 'echo-1',
    });
    expect(server.requests[0]?.authorized).toBe(true);
    await p.close();
  });

  it('streams deltas that reassemble into the same answer, usage requested and reported', async () => {
    server.setResponder(() => TOOL_REPLY);
    const p = provider();
    const deltas = await collect(p.stream(ask('weather?'), { signal: signal() }));
    const text = (kind: 'content' | 'reasoning') =>
      deltas.flatMap((d) => (d.type === kind ? [d.text] : [])).join('');
    expect(text('content')).toBe('Let me look.');
    expect(text('reasoning')).toBe('The user wants the weather.');
    expect(deltas.filter((d) => d.type === 'tool_call').length).toBeGreaterThan(2);
    expect(assembleToolCalls(deltas).map((c) => [c.id, c.function.name, c.function.arguments])).toEqual(
      TOOL_REPLY.toolCalls.map((c) => [c.id, c.name, c.arguments]),
    );
    expect(deltas.find((d) => d.type === 'usage')).toEqual({
      type: 'usage',
      usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 },
    });
    expect(deltas.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
    expect(server.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    await p.close();
  });

  it('passes every request parameter through unchanged', async () => {
    const p = provider({ defaultHeaders: { 'x-team': 'troupe' } });
    const tools = [
      {
        type: 'function',
        function: { name: 'lookup', description: 'Look up', parameters: { type: 'object' } },
      },
      { type: 'web_search', web_search: { enable: true, search_result: true } },
    ];
    const request = ask('hi', {
      tools,
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 321,
      stop: ['END', 'STOP'],
      thinking: 'enabled',
      extra: { seed: 42, user: 'u-1', response_format: { type: 'json_object' } },
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'thought',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
        },
        { role: 'tool', content: 'result', tool_call_id: 'c1' },
      ],
    });
    await p.complete(request, { signal: signal() });
    await collect(p.stream(request, { signal: signal() }));
    for (const recorded of server.requests) {
      expect(recorded.headers['x-team']).toBe('troupe');
      expect(recorded.body).toMatchObject({
        model: 'echo-1',
        messages: request.messages,
        tools,
        tool_choice: request.tool_choice,
        temperature: 0.3,
        top_p: 0.9,
        max_tokens: 321,
        stop: ['END', 'STOP'],
        thinking: { type: 'enabled' },
        seed: 42,
        user: 'u-1',
        response_format: { type: 'json_object' },
      });
    }
    expect(server.requests[0]?.body).not.toHaveProperty('stream');
    expect(server.requests.length).toBe(2);
    await p.close();
  });

  it('`extra` cannot change the model, the messages or whether the answer streams', async () => {
    server.setResponder(() => ({ content: 'whole' }));
    const p = provider();
    const extra = {
      model: 'other-model',
      messages: [{ role: 'user', content: 'injected' }],
      stream: true,
      stream_options: { include_usage: true },
    };
    const request = ask('hi', { extra });
    // A `stream: true` from `extra` on `complete()` would make the server stream what the adapter
    // reads as one JSON body.
    await expect(p.complete(request, { signal: signal() })).resolves.toMatchObject({ content: 'whole' });
    expect(server.requests[0]?.body).toEqual({ model: 'echo-1', messages: request.messages });
    const deltas = await collect(
      p.stream(ask('hi', { extra: { ...extra, stream: false } }), { signal: signal() }),
    );
    expect(deltas.flatMap((d) => (d.type === 'content' ? [d.text] : [])).join('')).toBe('whole');
    expect(server.requests[1]?.body).toMatchObject({
      model: 'echo-1',
      messages: request.messages,
      stream: true,
    });
    await p.close();
  });

  it('inlines files as system messages after the system prompt and before the user', async () => {
    const p = provider();
    await p.complete(
      ask('summarise', {
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'summarise' },
        ],
        files: [
          { name: 'a.md', data: '# Alpha' },
          { name: 'b.txt', data: new TextEncoder().encode('bravo') },
        ],
      }),
      { signal: signal() },
    );
    const body = server.requests[0]?.body as { messages: { role: string; content: string }[] };
    expect(body.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'system', content: 'File: a.md\n\n# Alpha' },
      { role: 'system', content: 'File: b.txt\n\nbravo' },
      { role: 'user', content: 'summarise' },
    ]);
    await p.close();
  });

  it('keeps one connection alive across 50 sequential calls, streamed and not', async () => {
    const p = provider();
    for (let i = 0; i < 50; i += 1) {
      if (i % 2 === 0) await p.complete(ask(`n${i}`), { signal: signal() });
      else await collect(p.stream(ask(`n${i}`), { signal: signal() }));
    }
    expect(server.requests.length).toBe(50);
    expect(server.socketCount).toBe(1);
    expect(new Set(server.requests.map((r) => r.socketId)).size).toBe(1);
    await p.close();
  });

  it('shares one agent per origin and destroys it when the last provider closes', async () => {
    const before = pooledAgentCount();
    const a = provider({ name: 'a' });
    const b = provider({ name: 'b' });
    expect(pooledAgentCount()).toBe(before + 1);
    await a.complete(ask('x'), { signal: signal() });
    await b.complete(ask('y'), { signal: signal() });
    expect(server.socketCount).toBe(1);
    await a.close();
    expect(pooledAgentCount()).toBe(before + 1);
    await b.close();
    expect(pooledAgentCount()).toBe(before);
  });

  it('a provider closed twice gives back its share once: the other provider on the origin keeps the agent', async () => {
    const before = pooledAgentCount();
    const a = provider({ name: 'a' });
    const b = provider({ name: 'b' });
    await a.close();
    await a.close();
    expect(pooledAgentCount()).toBe(before + 1);
    await expect(b.complete(ask('still here'), { signal: signal() })).resolves.toMatchObject({
      content: expect.any(String),
    });
    await b.close();
    expect(pooledAgentCount()).toBe(before);
  });

  it('accepts a whole JSON answer to a streamed request as deltas', async () => {
    const p = provider();
    const deltas = await collect(
      p.stream(ask('plain', { model: 'fault:ok:no-sse=1' }), { signal: signal() }),
    );
    expect(
      deltas
        .filter((d) => d.type === 'content')
        .map((d) => (d as { text: string }).text)
        .join(''),
    ).toBe('echo: plain');
    await p.close();
  });

  it('pushes a whole JSON answer to a streamed request as the same deltas (streamTo)', async () => {
    const p = provider();
    const request = ask('plain', { model: 'fault:ok:no-sse=1' });
    const pulled = await collect(p.stream(request, { signal: signal() }));
    const pushed: ChatDelta[] = [];
    await p.streamTo(request, { signal: signal() }, (delta) => pushed.push(delta));
    expect(pushed).toEqual(pulled);
    expect(pushed.some((d) => d.type === 'content')).toBe(true);
    await p.close();
  });
});
