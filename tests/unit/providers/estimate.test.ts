import { describe, expect, it } from 'vitest';
import {
  chargedTokens,
  estimatePromptTokens,
  estimateTokens,
  MEDIA_PART_TOKENS,
  textTokens,
} from '../../../src/providers/estimate.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import {
  KIMI_K2_5_DEFAULT_MAX_TOKENS,
  KIMI_K3_DEFAULT_MAX_TOKENS,
  KIMI_THINKING_MAX_TOKENS,
} from '../../../src/providers/kimi-rules.js';
import type { ChatProvider, ChatRequest } from '../../../src/providers/port.js';

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

  it('counts content parts: text by the text rule, an image or any other part at Moonshot’s 1024', () => {
    expect(MEDIA_PART_TOKENS).toBe(1024);
    const text = 'x'.repeat(4000);
    const asString = estimatePromptTokens({ model: 'm', messages: [{ role: 'user', content: text }] });
    const parts = [
      { type: 'text', text },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(40_000)}` } },
      { type: 'video_url', video_url: { url: 'https://example.com/v.mp4' } },
    ];
    const asParts = estimatePromptTokens({
      model: 'm',
      messages: [{ role: 'user', content: parts as unknown as string }],
    });
    // The image's 40,000 base64 characters are not text the model reads: 1024, not 10,000.
    expect(asParts).toBe(asString + 2 * 1024);
    const malformed = [{ type: 'text' }, null, 'loose'];
    expect(
      estimatePromptTokens({
        model: 'm',
        messages: [{ role: 'user', content: malformed as unknown as string }],
      }),
    ).toBe(4 + textTokens('user') + 2 * 1024);
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

  it('charges a budget given in extra as the typed one, the largest when several (it went uncounted)', () => {
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'abcd' }] };
    const completion = (fields: Partial<ChatRequest>) =>
      estimateTokens({ ...request, ...fields }, 1000).completion;
    expect(completion({ extra: { max_completion_tokens: 40_000 } })).toBe(40_000);
    expect(completion({ extra: { max_tokens: 900 } })).toBe(900);
    expect(completion({ max_tokens: 50, extra: { max_completion_tokens: 700 } })).toBe(700);
    expect(completion({ max_tokens: 800, extra: { max_tokens: 70 } })).toBe(800);
    expect(completion({ extra: { max_tokens: 'x', max_completion_tokens: -1 } })).toBe(1000);
  });
});

describe('chargedTokens: what admission charges, as the vendor will count it', () => {
  const kimi = createKimiProvider({ apiKey: 'sk-unused', baseURL: 'http://127.0.0.1:9/v1' });
  const ask = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });
  const prompt = estimatePromptTokens(ask('any'));

  it("counts the budget Kimi's adapter sends a thinking model, the vendor defaults of kimi-k3 and kimi-k2.5+, else the default", () => {
    expect(chargedTokens(ask('kimi-k2.6'), 'kimi-k2.6', kimi, 700)).toBe(prompt + KIMI_THINKING_MAX_TOKENS);
    expect(chargedTokens(ask('kimi-k3'), 'kimi-k3', kimi, 700)).toBe(prompt + KIMI_K3_DEFAULT_MAX_TOKENS);
    expect(chargedTokens(ask('moonshot-v1-8k'), 'moonshot-v1-8k', kimi, 700)).toBe(prompt + 700);
    // Thinking turned off: no budget is sent, and Moonshot counts its own default for the K2.5+
    // families, 32768 ("默认值为32k", the quickstarts); until 2026-12-05 the 700 was charged.
    const off = ask('kimi-k2.6', { extra: { thinking: { type: 'disabled' } } });
    expect(chargedTokens(off, 'kimi-k2.6', kimi, 700)).toBe(
      estimatePromptTokens(off) + KIMI_K2_5_DEFAULT_MAX_TOKENS,
    );
  });

  it("the caller's max_tokens wins, and the provider is not asked", () => {
    let asked = 0;
    const counting: ChatProvider = {
      ...kimi,
      rateLimitCompletion: () => {
        asked++;
        return 99_999;
      },
    };
    expect(chargedTokens(ask('kimi-k2.6', { max_tokens: 300 }), 'kimi-k2.6', counting, 700)).toBe(
      prompt + 300,
    );
    expect(asked).toBe(0);
  });

  it("a call to another model than the request's (a fallback target) is counted by that model", () => {
    expect(chargedTokens(ask('moonshot-v1-8k'), 'kimi-k3', kimi, 700)).toBe(
      prompt + KIMI_K3_DEFAULT_MAX_TOKENS,
    );
    expect(chargedTokens(ask('kimi-k3'), 'moonshot-v1-8k', kimi, 700)).toBe(prompt + 700);
  });

  it('a provider that says nothing, or no provider, charges the default', () => {
    const plain: ChatProvider = { ...kimi, rateLimitCompletion: undefined };
    expect(chargedTokens(ask('kimi-k3'), 'kimi-k3', plain, 700)).toBe(prompt + 700);
    expect(chargedTokens(ask('kimi-k3'), 'kimi-k3', undefined, 700)).toBe(prompt + 700);
  });

  it('a request the adapter refuses before sending is charged the default (the call fails with that refusal)', () => {
    const bad = ask('kimi-k2-thinking', { extra: { thinking: { type: 'disabled' } } });
    expect(() => kimi.rateLimitCompletion?.(bad)).not.toThrow();
    expect(chargedTokens(bad, 'kimi-k2-thinking', kimi, 700)).toBe(estimatePromptTokens(bad) + 700);
  });
});
