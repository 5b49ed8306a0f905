import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, estimateTokens, textTokens } from '../../../src/providers/estimate.js';

describe('token estimates (the documented rule)', () => {
  it('counts one token per 4 ASCII characters, rounded up', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('abc')).toBe(1);
    expect(textTokens('abcd')).toBe(1);
    expect(textTokens('abcde')).toBe(2);
    expect(textTokens('x'.repeat(4000))).toBe(1000);
  });

  it('counts one token per non-ASCII code point, a surrogate pair once', () => {
    expect(textTokens('你好世界')).toBe(4);
    expect(textTokens('😀😀')).toBe(2);
    expect(textTokens('ab你好')).toBe(3);
  });

  it('adds framing per message and counts names, tool calls and reasoning', () => {
    const one = estimatePromptTokens({ model: 'm', messages: [{ role: 'user', content: 'abcd' }] });
    expect(one).toBe(4 + 1 + 1);
    const two = estimatePromptTokens({
      model: 'm',
      messages: [
        { role: 'user', content: 'abcd' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'abcdefgh',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'look', arguments: '{"q":1}' } }],
        },
      ],
    });
    expect(two).toBe(one + 4 + textTokens('assistant') + 2 + 1 + 2);
  });

  it('counts tool definitions and files', () => {
    const base = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    expect(estimatePromptTokens({ ...base, tools })).toBe(
      estimatePromptTokens(base) + textTokens(JSON.stringify(tools)),
    );
    expect(
      estimatePromptTokens({
        ...base,
        files: [
          { name: 'a', data: 'x'.repeat(40) },
          { name: 'b', data: new Uint8Array(9) },
        ],
      }),
    ).toBe(estimatePromptTokens(base) + 10 + 3);
  });

  it('charges max_tokens when given, else the default completion', () => {
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'abcd' }] };
    expect(estimateTokens(request, 1000)).toEqual({ prompt: 6, completion: 1000, total: 1006 });
    expect(estimateTokens({ ...request, max_tokens: 50 }, 1000)).toEqual({
      prompt: 6,
      completion: 50,
      total: 56,
    });
    expect(estimateTokens({ ...request, max_tokens: 0 }, 7).completion).toBe(7);
  });
});
