/**
 * A Kimi tool loop whose assistant turn carried tool calls and no text: Moonshot answers 400
 * "text content is empty" to such a turn sent back with `content: ""` (MoonshotAI/kimi-cli commit
 * 2ad7e64b; the server's Kimi mode does the same), so the preset sends it without `content`, as
 * Moonshot's own client does. Other providers send it as given.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-kimi-tool-turns-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });
const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
const call = { id: 'c-1', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":2}' } };
const toolTurn: ChatMessage = { role: 'tool', tool_call_id: 'c-1', content: '4' };

describe('kimi: an assistant tool-call turn with no text', () => {
  it.each([true, false])(
    'goes back without `content`, and the vendor answers (the answer streamed: %s)',
    async (stream) => {
      const r = await rig('kimi');
      r.server.setResponder((body) => {
        const last = (body.messages as Record<string, unknown>[]).at(-1);
        return last?.role === 'tool'
          ? { content: 'It is 4.' }
          : { toolCalls: [{ id: 'c-1', name: 'add', arguments: '{"a":2,"b":2}' }] };
      });
      const ask = { provider: 'kimi', model: 'kimi-k2-turbo-preview', tools, stream };
      const first = await run(r, { ...ask, messages: [user('2+2?')] });
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      expect(first.content).toBe('');
      // The turn as a caller (or the MCP conversation store) keeps it: the answer's text, its calls.
      const assistant: ChatMessage = {
        role: 'assistant',
        content: first.content,
        tool_calls: first.toolCalls ?? [],
      };
      const second = await run(r, { ...ask, messages: [user('2+2?'), assistant, toolTurn] });
      expect(second.ok && second.content).toBe('It is 4.');
      const sent = (chatBodies(r)[1]?.messages as Record<string, unknown>[] | undefined)?.[1];
      expect(sent).toEqual({ role: 'assistant', tool_calls: first.toolCalls });
      expect(sent !== undefined && 'content' in sent).toBe(false);
    },
  );

  it.each([
    ['null', null],
    ['blank', ' \n'],
  ])('goes back without `content` when it is %s', async (_name, content) => {
    const r = await rig('kimi');
    r.server.setResponder(() => ({ content: 'It is 4.' }));
    const assistant: ChatMessage = { role: 'assistant', content, tool_calls: [call] };
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2-turbo-preview',
      tools,
      messages: [user('2+2?'), assistant, toolTurn],
    });
    expect(result.ok && result.content).toBe('It is 4.');
    const sent = (chatBodies(r)[0]?.messages as Record<string, unknown>[] | undefined)?.[1];
    expect(sent !== undefined && 'content' in sent).toBe(false);
  });

  it('keeps the text of a tool-call turn that has some, and the empty text of a turn without calls', async () => {
    const r = await rig('kimi');
    r.server.setResponder(() => ({ content: 'ok' }));
    const messages: ChatMessage[] = [
      user('2+2?'),
      { role: 'assistant', content: 'Let me add.', tool_calls: [call] },
      toolTurn,
      { role: 'assistant', content: '' },
      user('and?'),
    ];
    const result = await run(r, { provider: 'kimi', model: 'kimi-k2-turbo-preview', tools, messages });
    expect(result.ok).toBe(true);
    const sent = chatBodies(r)[0]?.messages as Record<string, unknown>[];
    expect(sent[1]?.content).toBe('Let me add.');
    expect(sent[3]).toEqual({ role: 'assistant', content: '' });
  });

  it('sends GLM the turn as given (its references do not say GLM refuses it)', async () => {
    const r = await rig('glm');
    r.server.setResponder(() => ({ content: 'ok' }));
    const assistant: ChatMessage = { role: 'assistant', content: '', tool_calls: [call] };
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      tools,
      messages: [user('2+2?'), assistant, toolTurn],
    });
    expect(result.ok).toBe(true);
    const sent = (chatBodies(r)[0]?.messages as Record<string, unknown>[] | undefined)?.[1];
    expect(sent?.content).toBe('');
  });
});
