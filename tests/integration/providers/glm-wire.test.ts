/**
 * GLM's wire format where it differs from OpenAI's, over real HTTP through the preset against the
 * local server in GLM mode (docs/providers.md, GLM): Zhipu's and Z.ai's API references type a tool
 * call's `function.arguments` as an object and `stop` as a list of one stop word; `tool_stream`
 * sends a call's arguments in pieces; the official SDKs send a base64 image without its data-URL prefix.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-glm-wire-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('glm tool calls with `function.arguments` as an object', () => {
  it.each([false, true])('reads the arguments as their JSON text (stream %s)', async (stream) => {
    const r = await rig('glm');
    r.server.setResponder(() => ({
      toolCalls: [
        { id: 'call_1', name: 'get_weather', arguments: '{"location":"Beijing","unit":"celsius"}' },
        { id: 'call_2', name: 'get_weather', arguments: '{"location":"Shanghai"}' },
      ],
      argumentsAsObject: true,
    }));
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stream, messages: [user('q')] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.metadata.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([
      {
        id: 'call_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Beijing","unit":"celsius"}' },
      },
      {
        id: 'call_2',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Shanghai"}' },
      },
    ]);
  });
});

describe('glm `tool_stream`', () => {
  it('joins a tool call whose arguments stream in pieces', async () => {
    const r = await rig('glm');
    const args = '{"location":"Beijing","unit":"celsius","note":"a longer argument string"}';
    r.server.setResponder(() => ({ toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: args }] }));
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      stream: true,
      extra: { tool_stream: true },
      messages: [user('q')],
    });
    expect(chatBodies(r)[0]).toMatchObject({ stream: true, tool_stream: true });
    expect(result.ok && result.toolCalls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } },
    ]);
  });
});

describe('glm `stop`', () => {
  it('sends a bare stop word as a list of one, without a note (the same request)', async () => {
    const r = await rig('glm');
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stop: 'END', messages: [user('q')] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.stop).toEqual(['END']);
    expect(result.metadata.notes ?? []).toEqual([]);
  });

  it('sends a list of one as it is, without a note', async () => {
    const r = await rig('glm');
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stop: ['END'], messages: [user('q')] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.stop).toEqual(['END']);
    expect(result.metadata.notes ?? []).toEqual([]);
  });
});

describe('glm content parts', () => {
  const parts = [
    { type: 'text', text: 'What is in this image?' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
  ];
  const withParts = (role: 'user' | 'system'): ChatMessage =>
    ({ role, content: parts }) as unknown as ChatMessage;

  it.each(['glm-4.6v', 'glm-4.6v-flash'])(
    'sends a user message’s parts to %s, a base64 image as the official SDKs send it',
    async (model) => {
      const r = await rig('glm');
      const message = withParts('user');
      const result = await run(r, { provider: 'glm', model, messages: [message] });
      expect(result.ok).toBe(true);
      // zai-org/z-ai-sdk-python and MetaGLM/zhipuai-sdk-python-v4 (`drop_prefix_image_data`) cut the
      // `data:image/...;base64,` prefix and send the base64 alone.
      expect(chatBodies(r)[0]?.messages).toEqual([
        {
          role: 'user',
          content: [parts[0], { type: 'image_url', image_url: { url: 'iVBORw0KGgo=' } }],
        },
      ]);
      // The same image: no note (the caller's request is not changed: glm-image-data.test.ts).
      expect(result.ok && (result.metadata.notes ?? [])).toEqual([]);
    },
  );

  it('sends other images, and other parts, as they are', async () => {
    const r = await rig('glm');
    const others = [
      { type: 'image_url', image_url: { url: 'https://example.org/a.png', detail: 'high' } },
      // Not base64, so the SDKs leave it; a video's or a file's data URL too (they cut images only).
      { type: 'image_url', image_url: { url: 'data:image/svg+xml,%3Csvg%2F%3E' } },
      { type: 'video_url', video_url: { url: 'data:video/mp4;base64,AAAA' } },
      { type: 'image_url', image_url: { url: 'data:text/plain;base64,aGk=' } },
    ];
    const message = { role: 'user', content: others } as unknown as ChatMessage;
    const result = await run(r, { provider: 'glm', model: 'glm-4.6v', messages: [message] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.messages).toEqual([{ role: 'user', content: others }]);
  });

  it('cuts the prefix of every base64 image, in every message, keeping each part’s other fields', async () => {
    const r = await rig('glm');
    const image = (data: string) => ({
      type: 'image_url',
      image_url: { url: `data:image/jpeg;base64,${data}`, detail: 'low' },
    });
    const first = { role: 'user', content: [image('AAAA'), image('BBBB')] } as unknown as ChatMessage;
    const second = {
      role: 'user',
      content: [{ type: 'text', text: 'and' }, image('CCCC')],
    } as unknown as ChatMessage;
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6v-flash',
      messages: [first, { role: 'assistant', content: 'ok' }, second],
    });
    expect(result.ok).toBe(true);
    const bare = (data: string) => ({ type: 'image_url', image_url: { url: data, detail: 'low' } });
    expect(chatBodies(r)[0]?.messages).toEqual([
      { role: 'user', content: [bare('AAAA'), bare('BBBB')] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: 'and' }, bare('CCCC')] },
    ]);
  });

  it.each([
    ['glm-5.1', 'user', 'image, video and file parts need a GLM vision model'],
    ['glm-4.6v', 'system', 'on user messages only'],
  ] as const)('refuses parts to %s on a %s message before sending', async (model, role, why) => {
    const r = await rig('glm');
    const result = await run(r, { provider: 'glm', model, messages: [withParts(role), user('q')] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_REQUEST');
    expect(result.error.message).toContain(`Expected \`messages[0].content\` for glm model \`${model}\``);
    expect(result.error.message).toContain(why);
    expect(chatBodies(r)).toEqual([]);
  });
  it.each([
    ['glm-5.1', 'user'],
    ['glm-4.6v', 'system'],
  ] as const)('sends parts that are all text to %s on a %s message as they are', async (model, role) => {
    const r = await rig('glm');
    const text = [
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ];
    const message = { role, content: text } as unknown as ChatMessage;
    const result = await run(r, { provider: 'glm', model, messages: [message, user('q')] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.messages).toEqual([
      { role, content: text },
      { role: 'user', content: 'q' },
    ]);
  });
});

describe('glm `web_search` in more than one stream chunk', () => {
  const a = { title: 'A', link: 'https://example.org/a', content: 'first', refer: 'ref_1' };
  const b = { title: 'B', link: 'https://example.org/b', content: 'second', refer: 'ref_2' };
  const tools = [{ type: 'web_search', web_search: { enable: true, search_result: true } }];

  it.each([
    ['the same array again in the last chunk', [a, b], [a, b], [a, b]],
    ['more results in the last chunk', [a], [a, b], [a, b]],
    ['other results only in the last chunk', [a], [b], [a, b]],
  ])('merges %s, each result once, in order', async (_case, first, last, expected) => {
    const r = await rig('glm');
    r.server.setResponder(() => ({ content: 'Per [ref_1], yes.', webSearch: first, webSearchLast: last }));
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      stream: true,
      tools,
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    expect(result.ok && result.webSearch).toEqual(expected);
  });
});

describe('glm `mcp` tool', () => {
  it('is refused before sending, with what to do instead', async () => {
    const r = await rig('glm');
    const mcp = {
      type: 'mcp',
      mcp: {
        server_label: 'mcp code',
        transport_type: 'streamable-http',
        headers: { Authorization: 'Bearer mcp-secret-0123' },
      },
    };
    const tools = [{ type: 'web_search', web_search: { enable: true } }, mcp];
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', tools, messages: [user('q')] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_REQUEST');
    expect(result.error.message).toContain('Expected `tools[1]` for glm model `glm-4.6`');
    expect(result.error.message).toContain('pass its tools as functions');
    // The MCP server's credentials in `headers` are not quoted.
    expect(result.error.message).not.toContain('mcp-secret');
    expect(chatBodies(r)).toEqual([]);
  });
});
