/**
 * Kimi and GLM features end to end over real HTTP through the presets (loaded from the
 * environment), against the local server in Kimi and GLM modes: stream shapes, finish reasons,
 * thinking budgets, parameter rules, partial mode, builtin tool calls, web search, catalogues that
 * inform rather than block, and the continuation of a Kimi thinking tool loop.
 */
import { describe, expect, it } from 'vitest';
import { catalogFromRegistry } from '../../../src/mcp/catalog.js';
import type { McpContext } from '../../../src/mcp/context.js';
import { listModelsTool } from '../../../src/mcp/tools/list-models.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import type { ChatMessage } from '../../../src/providers/port.js';
import { createOpenAIServer } from '../../../src/testing/openai-server.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-vendor-features-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });
const FN = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };

describe('kimi', () => {
  it.each([false, true])(
    'streams reasoning and reads usage inside choices[0] (stream %s)',
    async (stream) => {
      const r = await rig('kimi');
      r.server.setResponder(() => ({
        reasoning: 'think think',
        content: 'the answer',
        usage: { prompt_tokens: 11, completion_tokens: 22 },
      }));
      const result = await run(r, {
        provider: 'kimi',
        model: 'kimi-k2-thinking',
        stream,
        messages: [user('q')],
      });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.content).toBe('the answer');
      expect(result.reasoning).toBe('think think');
      // Moonshot's rate limiter counts the prompt plus the budget sent (troupe's 32768 here).
      expect(result.metadata.usage).toEqual({
        promptTokens: 11,
        completionTokens: 22,
        totalTokens: 33,
        rateLimitTokens: 11 + 32_768,
      });
      expect(result.metadata.finishReason).toBe('stop');
    },
  );

  it('gives a thinking model a completion budget under max_completion_tokens, and says so', async () => {
    const r = await rig('kimi');
    const result = await run(r, { provider: 'kimi', model: 'kimi-k2-thinking', messages: [user('q')] });
    const [body] = chatBodies(r);
    expect(body?.max_completion_tokens).toBe(32_768);
    expect(body).not.toHaveProperty('max_tokens');
    expect(result.metadata.notes?.join(' ')).toMatch(/max_completion_tokens/);
    // The caller's own budget goes under the documented field, unchanged.
    await run(r, { provider: 'kimi', model: 'moonshot-v1-8k', max_tokens: 100, messages: [user('q')] });
    expect(chatBodies(r)[1]?.max_completion_tokens).toBe(100);
    expect(chatBodies(r)[1]).not.toHaveProperty('max_tokens');
  });

  // The typed field wins over `extra` (wire.ts), under whichever name it goes: until 2026-12-05 an
  // `extra.max_tokens` went out beside it, two budgets for Moonshot to choose from (the contract's
  // `requestSent` found it).
  it('sends the typed max_tokens alone, over an extra.max_tokens', async () => {
    const r = await rig('kimi');
    const request = { max_tokens: 100, extra: { max_tokens: 900 }, messages: [user('q')] };
    await run(r, { provider: 'kimi', model: 'moonshot-v1-8k', ...request });
    const [body] = chatBodies(r);
    expect(body?.max_completion_tokens).toBe(100);
    expect(body).not.toHaveProperty('max_tokens');
  });

  it.each([
    [
      { temperature: 1.5 },
      'moonshot-v1-8k',
      /`temperature` for kimi model `moonshot-v1-8k` to be a number from 0 to 1, got `1.5`/,
    ],
    [
      { temperature: 0.3 },
      'kimi-k2.5',
      /`temperature` for kimi model `kimi-k2.5` to be left unset: the vendor fixes it at 1/,
    ],
    [
      { top_p: 0.5 },
      'kimi-k2.6',
      /`top_p` for kimi model `kimi-k2.6` to be left unset: the vendor fixes it at 0.95/,
    ],
    [{ thinking: 'disabled' as const }, 'kimi-k2-thinking', /always thinks/],
    // kimi-k2.7-code always thinks: "disabled" errors at the vendor, and `$web_search` needs it off.
    [{ thinking: 'disabled' as const }, 'kimi-k2.7-code', /always thinks/],
    [{ thinking: 'disabled' as const, temperature: 1 }, 'kimi-k2.7-code-highspeed', /always thinks/],
    [
      { tools: [{ type: 'builtin_function', function: { name: '$web_search' } }] },
      'kimi-k2.7-code',
      /`tools` for kimi model `kimi-k2.7-code` to be without `\$web_search`: it needs thinking disabled/,
    ],
    [{ thinking: 'enabled' as const }, 'moonshot-v1-8k', /does not think/],
    [
      {
        extra: { response_format: { type: 'json_object' } },
        messages: [user('give JSON'), { role: 'assistant' as const, content: '{', partial: true }],
      },
      'moonshot-v1-8k',
      /`response_format` for kimi model `moonshot-v1-8k` to be not `json_object` with partial mode/,
    ],
    // The chat reference: at most 5 stop words, each at most 32 bytes (a CJK character is 3).
    [
      { stop: ['a', 'b', 'c', 'd', 'e', 'f'] },
      'moonshot-v1-8k',
      /`stop` for kimi model `moonshot-v1-8k` to be at most 5 stop words of at most 32 bytes each/,
    ],
    [{ stop: '停'.repeat(11) }, 'kimi-k2.6', /`stop` for kimi model `kimi-k2.6` to be at most 5 stop words/],
    // With thinking on, `tool_choice` is "auto" or "none" only ("取任何其他值将会报错", the K2.5, K2.6
    // and K2.7 Code quickstarts); until 2026-12-05 it went to Moonshot and came back a 400.
    [
      { tools: [FN], tool_choice: 'required' },
      'kimi-k2.6',
      /`tool_choice` for kimi model `kimi-k2.6` to be `"auto"` or `"none"` while the model thinks/,
    ],
    [
      { tools: [FN], tool_choice: { type: 'function', function: { name: 'lookup' } } },
      'kimi-k2.7-code',
      /`tool_choice` for kimi model `kimi-k2.7-code` to be `"auto"` or `"none"`/,
    ],
    [{ tools: [FN], tool_choice: 'required' }, 'kimi-k2-thinking', /`"auto"` or `"none"`/],
    [{ tools: [FN], tool_choice: 'required' }, 'kimi-k3', /`"auto"` or `"none"`/],
    // Partial mode only on the last message, an assistant one ([K2]).
    [
      { messages: [{ role: 'user' as const, content: 'give JSON', partial: true }] },
      'moonshot-v1-8k',
      /`messages\[0\]\.partial` for kimi model `moonshot-v1-8k` to be set only on the last message, an assistant one/,
    ],
    [
      {
        messages: [
          user('give JSON'),
          { role: 'assistant' as const, content: '{', partial: true },
          user('go on'),
        ],
      },
      'moonshot-v1-8k',
      /`messages\[1\]\.partial` for kimi model `moonshot-v1-8k` to be set only on the last message/,
    ],
    // kimi-k3 always thinks and "目前关不了" (Kimi help center, [K7]); `$web_search` needs it off.
    [{ thinking: 'disabled' as const }, 'kimi-k3', /`enabled` or unset: kimi-k3 always thinks/],
    [{ extra: { thinking: { type: 'disabled' } } }, 'kimi-k3', /kimi-k3 always thinks/],
    [
      { tools: [{ type: 'builtin_function', function: { name: '$web_search' } }] },
      'kimi-k3',
      /`tools` for kimi model `kimi-k3` to be without `\$web_search`: it needs thinking disabled/,
    ],
  ])('refuses %o on %s before any request', async (fields, model, message) => {
    const r = await rig('kimi');
    const result = await run(r, { provider: 'kimi', model, messages: [user('q')], ...fields });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_REQUEST');
    expect(result.error.message).toMatch(message);
    expect(chatBodies(r)).toHaveLength(0);
  });

  it.each([
    ['kimi-k2.6', { thinking: 'disabled' as const, tool_choice: 'required' }],
    ['kimi-k2.5', { extra: { thinking: { type: 'disabled' } }, tool_choice: 'required' }],
    ['kimi-k2.6', { tool_choice: 'none' }],
    ['kimi-k2-thinking', { tool_choice: 'auto' }],
    ['moonshot-v1-8k', { tool_choice: 'required' }],
    // Five stop words, one of 32 bytes: within the chat reference's limits.
    ['moonshot-v1-8k', { tool_choice: 'auto', stop: ['a', 'b', 'c', 'd', '停'.repeat(10) + 'xy'] }],
  ])(
    "sends %s's tool_choice when thinking is off or the choice is auto or none (%o)",
    async (model, fields) => {
      const r = await rig('kimi');
      const result = await run(r, { provider: 'kimi', model, messages: [user('q')], tools: [FN], ...fields });
      expect(result.ok).toBe(true);
      expect(chatBodies(r)[0]?.tool_choice).toEqual(fields.tool_choice);
    },
  );

  // The local server's Kimi mode answers the same rule with Moonshot's 400, for a client that does
  // not check it first (troupe's rules bypassed here): an INVALID_REQUEST carrying the vendor's words.
  it("the server's Kimi mode refuses tool_choice 'required' with thinking on, as Moonshot does", async () => {
    await againstKimiMode(async (kimi) => {
      const ask = { model: 'kimi-k2.6', tools: [FN], messages: [user('q')] };
      const signal = () => ({ signal: AbortSignal.timeout(5000) });
      await expect(kimi.complete({ ...ask, tool_choice: 'required' }, signal())).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/tool_choice 'required' is incompatible with thinking enabled/),
      });
      const off = { ...ask, tool_choice: 'required', thinking: 'disabled' as const };
      await expect(kimi.complete(off, signal())).resolves.toMatchObject({ finishReason: 'stop' });
    });
  });

  // Moonshot's Tool Use reference: a function's name matches ^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$. MCP tool
  // names may hold `.` or `/` or be short; they went to Moonshot and came back a 400.
  it.each(['fs.read', 'ab', '1c-check', `t${'x'.repeat(64)}`])(
    'refuses a function tool named %s before sending, naming the tool',
    async (name) => {
      const r = await rig('kimi');
      const tool = { type: 'function', function: { name, parameters: { type: 'object', properties: {} } } };
      const result = await run(r, {
        provider: 'kimi',
        model: 'moonshot-v1-8k',
        tools: [FN, tool, { type: 'builtin_function', function: { name: '$web_search' } }],
        messages: [user('q')],
      });
      expect(!result.ok && result.error.code).toBe('INVALID_REQUEST');
      expect(!result.ok && result.error.message).toContain('`tools[1].function.name`');
      expect(chatBodies(r)).toHaveLength(0);
    },
  );

  it("the server's Kimi mode refuses a function name Moonshot refuses, as Moonshot does", async () => {
    await againstKimiMode(async (kimi) => {
      const named = (name: string) => ({
        model: 'moonshot-v1-8k',
        tools: [{ type: 'function' as const, function: { name, parameters: { type: 'object' } } }],
        messages: [user('q')],
      });
      const signal = () => ({ signal: AbortSignal.timeout(5000) });
      await expect(kimi.complete(named('1c-check'), signal())).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('function name is invalid, must start with a letter'),
      });
      await expect(kimi.complete(named('fs.read'), signal())).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
      await expect(kimi.complete(named('_fs-read_2'), signal())).resolves.toMatchObject({
        finishReason: 'stop',
      });
    });
  });

  // One answer a session, on every provider (`request-check.ts`): Moonshot takes `n` up to 5, but
  // a session reads `choices[0]` alone, so the others would be paid for and dropped.
  it.each([
    [2, 'kimi-k2.5'],
    [3, 'moonshot-v1-8k'],
  ])('refuses n = %d on %s at submit, before any request', async (n, model) => {
    const r = await rig('kimi');
    expect(() => r.runtime.submit({ provider: 'kimi', model, messages: [user('q')], extra: { n } })).toThrow(
      /^Expected `extra.n` to be 1 or absent/,
    );
    expect(chatBodies(r)).toHaveLength(0);
  });

  it('sends kimi-k2.7-code no thinking parameter and its fixed temperature as thinking-on', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.7-code',
      thinking: 'enabled',
      temperature: 1,
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body).not.toHaveProperty('thinking');
    expect(body).not.toHaveProperty('temperature');
    expect(body?.max_completion_tokens).toBe(32_768);
    expect(result.metadata.notes?.join(' ')).toMatch(/dropped `thinking`: this model always thinks/);
  });

  // Moonshot's own client sends kimi-k2-thinking `thinking: { type: 'enabled' }`, with `keep: 'all'`
  // for Preserved Thinking (MoonshotAI/kimi-cli, `src/kimi_cli/llm.py`, [K5]); until 2026-12-06 it
  // was dropped, and `keep` with it.
  it.each([
    [{ thinking: 'enabled' as const }, { type: 'enabled' }],
    [{ extra: { thinking: { type: 'enabled', keep: 'all' } } }, { type: 'enabled', keep: 'all' }],
  ])('sends kimi-k2-thinking its thinking parameter as given (%j)', async (fields, sent) => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2-thinking',
      messages: [user('q')],
      ...fields,
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.thinking).toEqual(sent);
    expect(result.metadata.notes?.join(' ') ?? '').not.toMatch(/dropped `thinking`/);
  });

  // The thinking guide's table ([K5]): kimi-k2.6 takes `keep` (null, not kept, or "all"); kimi-k2.5
  // has "No such parameter; not supported"; kimi-k2.7-code keeps all always and errors on any other
  // value. Until 2026-12-07 kimi-k2.5 got `keep` as given, and kimi-k2.7-code lost a refused value
  // with the rest of its dropped `thinking`.
  it.each([
    ['kimi-k2.6', { type: 'enabled', keep: 'all' }],
    ['kimi-k2.5', { type: 'enabled' }],
    // A model no list knows gets the newest documented behaviour: sent as given.
    ['kimi-k2.9-preview', { type: 'enabled', keep: 'all' }],
  ])('sends `thinking.keep` to %s as its vendor page allows', async (model, sent) => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model,
      messages: [user('q')],
      extra: { thinking: { type: 'enabled', keep: 'all' } },
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.thinking).toEqual(sent);
    const notes = result.metadata.notes?.join(' ') ?? '';
    if ('keep' in sent) expect(notes).not.toMatch(/thinking\.keep/);
    else expect(notes).toMatch(/dropped `thinking.keep`: `kimi-k2.5` has no Preserved Thinking/);
  });

  // The thinking guide gives `keep` no meaning beside `disabled`, and Moonshot's own client sends it
  // only while thinking is on (MoonshotAI/kimi-code, `resolveThinkingKeep`); until 2026-12-07
  // kimi-k2.6 got `{ type: 'disabled', keep: 'all' }` as given.
  it.each(['kimi-k2.6', 'kimi-k2.9-preview'])(
    'sends %s no `thinking.keep` beside thinking disabled, and says so',
    async (model) => {
      const r = await rig('kimi');
      const result = await run(r, {
        provider: 'kimi',
        model,
        messages: [user('q')],
        extra: { thinking: { type: 'disabled', keep: 'all' } },
      });
      expect(result.ok).toBe(true);
      const [body] = chatBodies(r);
      expect(body?.thinking).toEqual({ type: 'disabled' });
      expect(result.metadata.notes).toContain(
        'dropped `thinking.keep`: thinking is disabled, and Moonshot documents Preserved Thinking only with thinking on',
      );
    },
  );

  it('drops a non-thinking model’s `thinking` with one note, `keep` and all', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [user('q')],
      extra: { thinking: { type: 'disabled', keep: 'all' } },
    });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]).not.toHaveProperty('thinking');
    expect(result.metadata.notes).toEqual([
      'dropped `thinking`: this model does not think and takes no thinking parameter',
    ]);
  });

  it('refuses kimi-k2.7-code a `thinking.keep` other than "all", before sending', async () => {
    const r = await rig('kimi');
    const refused = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.7-code',
      messages: [user('q')],
      extra: { thinking: { type: 'enabled', keep: null } },
    });
    expect(refused.ok || refused.error.code).toBe('INVALID_REQUEST');
    if (!refused.ok)
      expect(refused.error.message).toContain(
        'Expected `thinking.keep` for kimi model `kimi-k2.7-code` to be `"all"` or unset: Preserved Thinking is always on for this model, got `null`',
      );
    expect(chatBodies(r)).toHaveLength(0);
    const kept = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.7-code',
      messages: [user('q')],
      extra: { thinking: { type: 'enabled', keep: 'all' } },
    });
    expect(kept.ok).toBe(true);
    expect(chatBodies(r)[0]).not.toHaveProperty('thinking');
  });

  // Moonshot refuses a prompt plus max_completion_tokens over the window (chat API reference);
  // troupe's own default budget must fit in what the prompt leaves (counted at 3 characters a token).
  it.each([
    // 700,000 characters: 175,005 tokens by troupe's rule, 233,340 at the vendor's high end.
    [
      700_000,
      262_144 - 233_340,
      /to 28804 \(what the model's window of 262144 tokens leaves after the prompt\)/,
    ],
    [800_000, undefined, /sent no `max_completion_tokens`: the prompt leaves no room/],
  ])('caps the default budget of a %i-character prompt to the window', async (chars, sent, note) => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      messages: [user('x'.repeat(chars))],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.max_completion_tokens).toBe(sent);
    expect(result.metadata.notes?.join(' ')).toMatch(note);
  });

  it('caps the default budget of a prompt given as text parts as it caps one given as a string', async () => {
    const r = await rig('kimi');
    const parts = [{ type: 'text', text: 'x'.repeat(700_000) }];
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      messages: [{ role: 'user', content: parts as unknown as string }],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    // Parts counted as nothing left troupe's 32768 on a prompt the window could not hold with it.
    expect(body?.max_completion_tokens).toBe(262_144 - 233_340);
    expect(result.metadata.notes?.join(' ')).toMatch(/what the model's window of 262144 tokens leaves/);
  });

  // Moonshot: "Kimi 大模型生成的内容也可能包含不安全或敏感内容，进而导致 content_filter 错误" ([K7]): a
  // filter can stop an answer after its stream began; the error it carries is mapped by its type.
  it.each([
    ['kimi.content-filter', 'CONTENT_FILTERED'],
    ['kimi.quota', 'QUOTA_EXHAUSTED'],
  ])('maps a %s body inside a 200 stream by its type, and does not retry it', async (name, code) => {
    const r = await rig('kimi', { maxAttempts: 3 });
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      stream: true,
      messages: [user(`vendor-error:${name}@stream`)],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.message).toMatch(/the stream carried an error/);
    expect(result.metadata.attempts).toBe(1);
    expect(chatBodies(r)).toHaveLength(1);
  });

  it("leaves kimi-k3 Moonshot's own budget (131072) and drops its `enabled` with a note (it always thinks)", async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      thinking: 'enabled',
      extra: { reasoning_effort: 'high' },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body).not.toHaveProperty('max_completion_tokens');
    expect(body).not.toHaveProperty('max_tokens');
    expect(body).not.toHaveProperty('thinking');
    expect(body?.reasoning_effort).toBe('high');
    // The vendor speaks only of `reasoning_effort` for K3; it goes as given beside the dropped switch.
    expect(result.metadata.notes).toEqual([
      'dropped `thinking`: kimi-k3 always thinks; its depth is `reasoning_effort` (in `extra`), and the parameter is not sent',
    ]);
  });

  // The vendor's own form of the switch is the object `{ "thinking": { "type": ... } }` ([K1], [Z6]);
  // given through `extra`, it is judged as the typed field is.
  it.each([
    [
      { type: 'disabled' },
      'kimi-k2.7-code',
      [],
      /`thinking` .* `enabled` or unset: this model always thinks/,
    ],
    [
      { type: 'enabled' },
      'kimi-k2.6',
      [{ type: 'builtin_function', function: { name: '$web_search' } }],
      /`thinking` for kimi model `kimi-k2.6` to be `disabled` when `\$web_search` is among the tools/,
    ],
    [
      { type: 'enabled' },
      'moonshot-v1-8k',
      [],
      /`thinking` .* `disabled` or unset: this model does not think/,
    ],
  ])(
    'refuses extra.thinking %o on %s like the typed field, before any request',
    async (thinking, model, tools, message) => {
      const r = await rig('kimi');
      const result = await run(r, {
        provider: 'kimi',
        model,
        extra: { thinking },
        ...(tools.length > 0 ? { tools } : {}),
        messages: [user('q')],
      });
      expect(!result.ok && result.error.code).toBe('INVALID_REQUEST');
      if (!result.ok) expect(result.error.message).toMatch(message);
      expect(chatBodies(r)).toHaveLength(0);
    },
  );

  it('judges kimi-k2.6 sampling as thinking-off when extra.thinking says disabled', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      temperature: 0.6,
      extra: { thinking: { type: 'disabled' } },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.thinking).toEqual({ type: 'disabled' });
    expect(body).not.toHaveProperty('temperature');
    // Thinking is off: no default reasoning budget.
    expect(body).not.toHaveProperty('max_completion_tokens');
    expect(result.metadata.notes).toEqual([
      'dropped `temperature`: `kimi-k2.6` fixes it at 0.6; the same value is not sent',
    ]);
  });

  // `$web_search` turns thinking off on kimi-k2.6 ([K3]), and with it off the vendor fixes
  // `temperature` at 0.6, not 1.0 ([K1]): the sampling is judged for the request as sent.
  it('judges kimi-k2.6 sampling as thinking-off when `$web_search` turns thinking off', async () => {
    const r = await rig('kimi');
    const tools = [{ type: 'builtin_function', function: { name: '$web_search' } }];
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      temperature: 0.6,
      tools,
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.thinking).toEqual({ type: 'disabled' });
    expect(body).not.toHaveProperty('temperature');
    expect(result.metadata.notes).toEqual([
      'set `thinking` to `disabled`: `$web_search` needs thinking disabled',
      'dropped `temperature`: `kimi-k2.6` fixes it at 0.6; the same value is not sent',
    ]);
    const refused = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      temperature: 1,
      tools,
      messages: [user('q')],
    });
    expect(!refused.ok && refused.error.message).toMatch(
      /`temperature` for kimi model `kimi-k2.6` to be left unset: the vendor fixes it at 0.6/,
    );
    expect(chatBodies(r)).toHaveLength(1);
  });

  it('drops a fixed parameter given at its fixed value, with a note', async () => {
    const r = await rig('kimi');
    const result = await run(r, { provider: 'kimi', model: 'kimi-k2.5', top_p: 0.95, messages: [user('q')] });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]).not.toHaveProperty('top_p');
    expect(result.metadata.notes?.join(' ')).toMatch(/dropped `top_p`/);
  });

  it('keeps partial mode on the last assistant message', async () => {
    const r = await rig('kimi');
    await run(r, {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [user('give JSON'), { role: 'assistant', content: '{', partial: true }],
    });
    const messages = chatBodies(r)[0]?.messages as Record<string, unknown>[];
    expect(messages.at(-1)).toEqual({ role: 'assistant', content: '{', partial: true });
  });

  it.each([false, true])(
    'echoes $web_search as builtin_function and disables thinking for it (stream %s)',
    async (stream) => {
      const r = await rig('kimi');
      const args = '{"search_result":{"search_id":"s-1"},"usage":{"total_tokens":12}}';
      r.server.setResponder((body) => {
        const last = (body.messages as Record<string, unknown>[]).at(-1);
        return last?.role === 'tool'
          ? { content: 'found it' }
          : { toolCalls: [{ id: 'ws-1', name: '$web_search', arguments: args, type: 'builtin_function' }] };
      });
      const tools = [{ type: 'builtin_function', function: { name: '$web_search' } }];
      const first = await run(r, {
        provider: 'kimi',
        model: 'kimi-k2.5',
        stream,
        tools,
        messages: [user('news?')],
      });
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      expect(first.toolCalls?.[0]).toEqual({
        id: 'ws-1',
        type: 'builtin_function',
        function: { name: '$web_search', arguments: args },
      });
      expect(chatBodies(r)[0]?.thinking).toEqual({ type: 'disabled' });
      expect(first.metadata.notes?.join(' ')).toMatch(/\$web_search` needs thinking disabled/);
      const second = await run(r, {
        provider: 'kimi',
        model: 'kimi-k2.5',
        stream,
        tools,
        messages: [
          user('news?'),
          { role: 'assistant', content: first.content, tool_calls: first.toolCalls ?? [] },
          { role: 'tool', tool_call_id: 'ws-1', name: '$web_search', content: args },
        ],
      });
      expect(second.ok && second.content).toBe('found it');
      const sent = (chatBodies(r)[1]?.messages as Record<string, unknown>[] | undefined)?.[1] as {
        tool_calls: { type: string }[];
      };
      expect(sent.tool_calls[0]?.type).toBe('builtin_function');
    },
  );

  it('continues a thinking tool loop: the assistant turn goes back with its reasoning_content', async () => {
    const r = await rig('kimi');
    r.server.setResponder((body) => {
      const last = (body.messages as Record<string, unknown>[]).at(-1);
      return last?.role === 'tool'
        ? { reasoning: 'the tool said 4', content: 'It is 4.' }
        : {
            reasoning: 'I should call add',
            toolCalls: [{ id: 'c-1', name: 'add', arguments: '{"a":2,"b":2}' }],
          };
    });
    const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
    const first = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2-thinking',
      stream: true,
      tools,
      messages: [user('2+2?')],
    });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const assistant: ChatMessage = {
      role: 'assistant',
      content: first.content,
      tool_calls: first.toolCalls ?? [],
      ...(first.reasoning === undefined ? {} : { reasoning_content: first.reasoning }),
    };
    const toolTurn: ChatMessage = { role: 'tool', tool_call_id: 'c-1', content: '4' };
    const second = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2-thinking',
      tools,
      messages: [user('2+2?'), assistant, toolTurn],
    });
    expect(second.ok && second.content).toBe('It is 4.');
    // Without the reasoning the vendor refuses, as its docs say; troupe reports it as it came.
    const { reasoning_content: _dropped, ...bare } = assistant;
    const refused = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2-thinking',
      tools,
      messages: [user('2+2?'), bare, toolTurn],
    });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.message).toMatch(/reasoning_content is missing/);
  });

  it.each([true, false])(
    'keeps an empty reasoning_content of a reason-free tool-call turn, so the loop goes on (stream: %s)',
    async (stream) => {
      const r = await rig('kimi');
      r.server.setResponder((body) => {
        const last = (body.messages as Record<string, unknown>[]).at(-1);
        return last?.role === 'tool'
          ? { reasoning: 'the tool said 4', content: 'It is 4.' }
          : { reasoning: '', toolCalls: [{ id: 'c-1', name: 'add', arguments: '{"a":2,"b":2}' }] };
      });
      const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
      const ask = { provider: 'kimi', model: 'kimi-k2-thinking', tools, stream };
      const first = await run(r, { ...ask, messages: [user('2+2?')] });
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      // "Reasoned but empty" is not "no reasoning": the answer says so, and the turn goes back with it.
      expect(first.reasoning).toBe('');
      const assistant: ChatMessage = {
        role: 'assistant',
        content: first.content,
        tool_calls: first.toolCalls ?? [],
        ...(first.reasoning === undefined ? {} : { reasoning_content: first.reasoning }),
      };
      const second = await run(r, {
        ...ask,
        messages: [user('2+2?'), assistant, { role: 'tool', tool_call_id: 'c-1', content: '4' }],
      });
      expect(second.ok && second.content).toBe('It is 4.');
      const sent = (chatBodies(r)[1]?.messages as Record<string, unknown>[] | undefined)?.[1];
      expect(sent?.reasoning_content).toBe('');
    },
  );

  it('sends models outside the catalogue to the vendor, which judges (404 -> MODEL_NOT_FOUND)', async () => {
    const r = await rig('kimi', { models: ['kimi-k2-0711-preview', 'kimi-k4-preview'] });
    const known = await run(r, { provider: 'kimi', model: 'kimi-k4-preview', messages: [user('q')] });
    expect(known.ok).toBe(true);
    const listed = await run(r, { provider: 'kimi', model: 'kimi-k2-0711-preview', messages: [user('q')] });
    expect(listed.ok).toBe(true);
    const unknown = await run(r, { provider: 'kimi', model: 'kimi-nope', messages: [user('q')] });
    expect(!unknown.ok && unknown.error.code).toBe('MODEL_NOT_FOUND');
    expect(chatBodies(r)).toHaveLength(3);
  });

  it('strictModels keeps the allow-list, and the providers file adds models', async () => {
    const r = await rig('kimi', {
      file: {
        kimi: {
          strictModels: true,
          models: [{ id: 'kimi-k4-preview', contextWindow: 524_288, capabilities: { thinking: true } }],
        },
      },
    });
    const added = await run(r, { provider: 'kimi', model: 'kimi-k4-preview', messages: [user('q')] });
    expect(added.ok).toBe(true);
    expect(chatBodies(r)[0]?.max_completion_tokens).toBe(32_768);
    expect(() => r.loaded.registry.resolve({ provider: 'kimi', model: 'kimi-nope' })).toThrow(
      /MODEL_NOT_FOUND|served by `kimi`/,
    );
    expect(r.loaded.registry.lookup('kimi', 'kimi-k4-preview')?.contextWindow).toBe(524_288);
  });

  it("list_models refresh adds the vendor's live ids from GET /models, cached", async () => {
    const r = await rig('kimi', { models: ['kimi-k2.6', 'kimi-k4-preview'] });
    const catalog = catalogFromRegistry(r.loaded.registry);
    const mcp = { catalog } as unknown as McpContext;
    const call = { signal: new AbortController().signal };
    const before = await listModelsTool.run({}, mcp, call);
    expect(JSON.stringify(before)).not.toContain('kimi-k4-preview');
    const after = await listModelsTool.run({ refresh: true }, mcp, call);
    expect(JSON.stringify(after.structured)).toContain('kimi-k4-preview');
    await listModelsTool.run({ refresh: true }, mcp, call);
    expect(r.server.requests.filter((q) => q.path === '/v1/models')).toHaveLength(1);
    const listed = r.loaded.registry
      .list()
      .find((p) => p.name === 'kimi')
      ?.models.find((m) => m.id === 'kimi-k4-preview');
    expect(listed?.fromVendor).toBe(true);
  });

  // Moonshot's `GET /v1/models` gives each model's window and abilities (`context_length`,
  // `supports_reasoning`, `supports_image_in`); a model only the vendor listed was shown without them.
  it('list_models refresh shows a vendor-only model with the window and abilities Moonshot lists', async () => {
    const r = await rig('kimi', {
      models: ['kimi-k2.6', 'kimi-k4-preview', 'kimi-k4-mini'],
      modelInfo: {
        'kimi-k4-preview': { context_length: 524_288, supports_reasoning: true, supports_image_in: true },
        'kimi-k4-mini': { context_length: 0 },
      },
    });
    const catalog = catalogFromRegistry(r.loaded.registry);
    const after = await listModelsTool.run({ refresh: true }, { catalog } as unknown as McpContext, {
      signal: new AbortController().signal,
    });
    expect(after.text).toContain('kimi-k4-preview [524288 tokens]');
    const kimi = r.loaded.registry.list().find((p) => p.name === 'kimi');
    const listed = kimi?.models.find((m) => m.id === 'kimi-k4-preview');
    expect(listed).toMatchObject({ contextWindow: 524_288, fromVendor: true });
    expect(listed?.capabilities).toMatchObject({ thinking: true, vision: true, streaming: true });
    // A window that is no count is not taken; the catalogue's own entries stay as the catalogue says.
    expect(kimi?.models.find((m) => m.id === 'kimi-k4-mini')?.contextWindow).toBeNull();
    expect(kimi?.models.find((m) => m.id === 'kimi-k2.6')).toMatchObject({ contextWindow: 262_144 });
  });

  // The list goes to every client: a hostile `/models` echoed the key into list_models.
  it('list_models refresh leaves out an id carrying the key or over 256 characters, and reads at most 1000', async () => {
    const many = Array.from({ length: 1005 }, (_, i) => `m-${i}`);
    const r = await rig('kimi', { models: ['kimi-k2.6', `ft-${KEY}`, 'x'.repeat(257), ...many] });
    const catalog = catalogFromRegistry(r.loaded.registry);
    const mcp = { catalog } as unknown as McpContext;
    const after = await listModelsTool.run({ refresh: true }, mcp, { signal: new AbortController().signal });
    const text = JSON.stringify(after);
    expect(text).toContain('kimi-k2.6');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('x'.repeat(257));
    const fromVendor = r.loaded.registry
      .list()
      .find((p) => p.name === 'kimi')
      ?.models.filter((m) => m.fromVendor === true)
      .map((m) => m.id);
    // kimi-k2.6 and m-0 to m-998: 1000 ids read (kimi-k2.6 is built in, so not marked).
    expect(fromVendor).toContain('m-998');
    expect(fromVendor).not.toContain('m-999');
  });

  it('does not retry QUOTA_EXHAUSTED, and retries RATE_LIMITED', async () => {
    const r = await rig('kimi', { maxAttempts: 3 });
    const quota = await run(r, {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [user('vendor-error:kimi.quota')],
    });
    expect(!quota.ok && quota.error.code).toBe('QUOTA_EXHAUSTED');
    expect(quota.metadata.attempts).toBe(1);
    expect(chatBodies(r)).toHaveLength(1);
    r.server.reset();
    const limited = await run(r, {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [user('vendor-error:kimi.overloaded')],
    });
    expect(!limited.ok && limited.error.code).toBe('RATE_LIMITED');
    expect(limited.metadata.attempts).toBe(3);
  });
});

describe('connection pool and concurrency (issue 14)', () => {
  it("the pool is never smaller than the provider's concurrency: 24 admitted calls are 24 in flight", async () => {
    const r = await rig('kimi', { file: { kimi: { maxConcurrent: 24 } } });
    const results = await Promise.all(
      Array.from({ length: 24 }, () =>
        run(r, { provider: 'kimi', model: 'fault:ok:latency=400', messages: [user('q')] }),
      ),
    );
    expect(results.every((x) => x.ok)).toBe(true);
    // With the old fixed pool of 16, 8 admitted sessions waited for a socket while shown running.
    expect(r.server.maxInFlight).toBe(24);
  });

  it('refuses a maxSockets below maxConcurrent', async () => {
    await expect(rig('glm', { file: { glm: { maxConcurrent: 8, maxSockets: 4 } } })).rejects.toThrow(
      /glm.maxSockets: Expected at least `maxConcurrent` \(8\) sockets, got 4/,
    );
  });
});

describe('glm', () => {
  it.each([false, true])(
    'returns web_search results and reads top-level usage (stream %s)',
    async (stream) => {
      const r = await rig('glm');
      const webSearch = [
        {
          title: 'Troupe',
          link: 'https://example.org/t',
          content: 'a runtime',
          media: 'example',
          refer: 'ref_1',
        },
      ];
      r.server.setResponder(() => ({
        content: 'Per [ref_1], yes.',
        webSearch,
        usage: { prompt_tokens: 5, completion_tokens: 6 },
      }));
      const tools = [{ type: 'web_search', web_search: { enable: true, search_result: true } }];
      const result = await run(r, {
        provider: 'glm',
        model: 'glm-4.6',
        stream,
        tools,
        messages: [user('q')],
      });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.webSearch).toEqual(webSearch);
      expect(result.metadata.usage?.totalTokens).toBe(11);
      expect(chatBodies(r)[0]?.tools).toEqual(tools);
      expect(chatBodies(r)[0]).not.toHaveProperty('stream_options');
    },
  );

  it.each([
    ['network_error', 'PROVIDER_UNAVAILABLE'],
    ['sensitive', 'CONTENT_FILTERED'],
  ])('a stream ending with %s after content fails the session with %s, not retried', async (reason, code) => {
    const r = await rig('glm', { maxAttempts: 3 });
    r.server.setResponder(() => ({ content: 'partial text', finishReason: reason }));
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stream: true, messages: [user('q')] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.message).toMatch(new RegExp(`finish_reason \`${reason}\` after 12 character`));
    expect(result.metadata.attempts).toBe(1);
  });

  it('retries network_error when nothing was forwarded yet', async () => {
    const r = await rig('glm', { maxAttempts: 3 });
    let calls = 0;
    r.server.setResponder(() => {
      calls += 1;
      return calls === 1 ? { content: '', finishReason: 'network_error' } : { content: 'second time' };
    });
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stream: true, messages: [user('q')] });
    expect(result.ok && result.content).toBe('second time');
    expect(result.metadata.attempts).toBe(2);
  });

  it('fails a whole completion that ends sensitive', async () => {
    const r = await rig('glm');
    r.server.setResponder(() => ({ content: 'cut', finishReason: 'sensitive' }));
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', messages: [user('q')] });
    expect(!result.ok && result.error.code).toBe('CONTENT_FILTERED');
  });

  it('reports length with empty content as a result, with its finish reason', async () => {
    const r = await rig('glm');
    r.server.setResponder(() => ({ reasoning: 'long thoughts', content: '', finishReason: 'length' }));
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', stream: true, messages: [user('q')] });
    expect(result.ok).toBe(true);
    expect(result.metadata.finishReason).toBe('length');
  });

  it.each([
    [{ tool_choice: 'none' }, /`tool_choice` for glm model `glm-4.6` to be `"auto"`/],
    [
      { stop: ['END', 'STOP'] },
      /`stop` for glm model `glm-4.6` to be one stop word \(GLM supports only one\)/,
    ],
    [{ temperature: 1.2 }, /`temperature` .* from 0 to 1, got `1.2`/],
    [{ top_p: -0.1 }, /`top_p` .* from 0 to 1/],
    [{ extra: { user_id: 'abc' } }, /`user_id` .* 6 to 128 characters/],
    [{ extra: { user_id: 'abcde' } }, /`user_id` .* 6 to 128 characters/],
    [{ extra: { user_id: 'u'.repeat(129) } }, /`user_id` .* 6 to 128 characters/],
    [{ thinking: 'enabled' as const, model: 'glm-4-plus' }, /`thinking` for glm model `glm-4-plus`/],
    [
      { thinking: 'enabled' as const, model: 'glm-4-32b-0414-128k' },
      /`thinking` for glm model `glm-4-32b-0414-128k`/,
    ],
    // The vendor's object form through `extra` is judged like the typed field.
    [
      { extra: { thinking: { type: 'enabled', clear_thinking: false } }, model: 'glm-4-plus' },
      /`thinking` for glm model `glm-4-plus` to be `disabled` or unset/,
    ],
  ])('refuses %o before any request', async (fields, message) => {
    const r = await rig('glm');
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', messages: [user('q')], ...fields });
    expect(!result.ok && result.error.code).toBe('INVALID_REQUEST');
    if (!result.ok) expect(result.error.message).toMatch(message);
    expect(chatBodies(r)).toHaveLength(0);
  });

  it('sends temperature 0 as 0.01 without sampling and top_p under 0.01 as 0.01, 1 as is, and passes GLM fields through', async () => {
    const r = await rig('glm');
    const extra = {
      request_id: 'req-123456',
      user_id: 'user-123456',
      tool_stream: true,
      response_format: { type: 'json_object' },
    };
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 0,
      top_p: 0.005,
      extra,
      messages: [user('q')],
    });
    const [body] = chatBodies(r);
    expect(body).toMatchObject({ temperature: 0.01, do_sample: false, top_p: 0.01, ...extra });
    // The API reference ([Z2]): temperature [0.0, 1.0], top_p [0.01, 1.0].
    expect(result.metadata.notes).toEqual([
      'sent `temperature` 0 as 0.01 with `do_sample: false` (greedy decoding), as the official Python SDK does',
      "sent `top_p` 0.005 as 0.01, the API reference's least value",
    ]);
    // 1, the default temperature of GLM-4.6 and later, goes as it is.
    const ones = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 1,
      top_p: 1,
      messages: [user('q')],
    });
    expect(chatBodies(r)[1]).toMatchObject({ temperature: 1, top_p: 1 });
    expect(ones.metadata.notes ?? []).toEqual([]);
  });

  it('sends a `user_id` of 6 and of 128 characters, and the caller’s own `do_sample` with temperature 0', async () => {
    const r = await rig('glm');
    for (const user_id of ['u'.repeat(6), 'u'.repeat(128)]) {
      const result = await run(r, {
        provider: 'glm',
        model: 'glm-4.6',
        extra: { user_id },
        messages: [user('q')],
      });
      expect(result.ok).toBe(true);
    }
    expect(chatBodies(r).map((body) => String(body.user_id).length)).toEqual([6, 128]);
    // `do_sample` passes through `extra` unchanged ([Z3]): temperature 0 adds `false` only when it is absent.
    await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 0,
      extra: { do_sample: true },
      messages: [user('q')],
    });
    expect(chatBodies(r)[2]).toMatchObject({ temperature: 0.01, do_sample: true });
  });

  it('sends temperature and top_p rounded to two decimal places, never below 0.01, with a note each', async () => {
    const r = await rig('glm');
    // BigModel's API reference ([Z2]): temperature and top_p "限两位小数" (two decimal places at most).
    const finer = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 0.333,
      top_p: 0.957,
      messages: [user('q')],
    });
    expect(chatBodies(r)[0]).toMatchObject({ temperature: 0.33, top_p: 0.96 });
    expect(finer.metadata.notes).toEqual([
      "sent `temperature` 0.333 as 0.33: GLM takes two decimal places (BigModel's API reference)",
      "sent `top_p` 0.957 as 0.96: GLM takes two decimal places (BigModel's API reference)",
    ]);
    const tiny = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 0.004,
      messages: [user('q')],
    });
    expect(chatBodies(r)[1]).toMatchObject({ temperature: 0.01 });
    expect(chatBodies(r)[1]).not.toHaveProperty('do_sample');
    expect(tiny.metadata.notes).toEqual([
      "sent `temperature` 0.004 as 0.01: GLM takes two decimal places (BigModel's API reference)",
    ]);
    // Two places or fewer go as they are.
    const plain = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      temperature: 0.7,
      top_p: 0.95,
      messages: [user('q')],
    });
    expect(chatBodies(r)[2]).toMatchObject({ temperature: 0.7, top_p: 0.95 });
    expect(plain.metadata.notes ?? []).toEqual([]);
  });

  it('sends thinking to the new thinking models and passes ids it does not list to the vendor unchanged', async () => {
    const r = await rig('glm');
    for (const model of ['glm-5.2', 'glm-5-turbo', 'glm-5v-turbo', 'glm-4.7-flashx', 'glm-5.3']) {
      const result = await run(r, { provider: 'glm', model, thinking: 'disabled', messages: [user('q')] });
      expect(result.ok).toBe(true);
      expect(result.metadata.notes ?? []).toEqual([]);
    }
    expect(chatBodies(r).map((b) => [b.model, b.thinking])).toEqual(
      ['glm-5.2', 'glm-5-turbo', 'glm-5v-turbo', 'glm-4.7-flashx', 'glm-5.3'].map((m) => [
        m,
        { type: 'disabled' },
      ]),
    );
    // A listed model that does not think takes no thinking parameter: dropped, with a note.
    const plain = await run(r, {
      provider: 'glm',
      model: 'glm-4-32b-0414-128k',
      thinking: 'disabled',
      messages: [user('q')],
    });
    expect(plain.ok && plain.metadata.notes).toEqual([
      'dropped `thinking`: this model does not think and takes no thinking parameter',
    ]);
    expect(chatBodies(r).at(-1)).not.toHaveProperty('thinking');
  });

  it('sends glm-5.1 and unlisted ids to the vendor; code 1211 becomes MODEL_NOT_FOUND', async () => {
    const r = await rig('glm', { models: ['glm-5.1', 'glm-4.6v'] });
    expect((await run(r, { provider: 'glm', model: 'glm-5.1', messages: [user('q')] })).ok).toBe(true);
    expect((await run(r, { provider: 'glm', model: 'glm-4.6v', messages: [user('q')] })).ok).toBe(true);
    const unknown = await run(r, { provider: 'glm', model: 'glm-9', messages: [user('q')] });
    expect(!unknown.ok && unknown.error.code).toBe('MODEL_NOT_FOUND');
    expect(chatBodies(r)).toHaveLength(3);
  });
});

/**
 * Runs `body` with a Kimi provider whose own rules are off, against the local server's Kimi mode:
 * what Moonshot answers a client that does not check first.
 */
async function againstKimiMode(body: (kimi: ReturnType<typeof createKimiProvider>) => Promise<void>) {
  const server = createOpenAIServer({ apiKey: KEY, vendor: 'kimi' });
  await server.start();
  const kimi = createKimiProvider({
    apiKey: KEY,
    baseURL: server.baseURL,
    capabilities: { prepare: (request) => ({ request, notes: [] }) },
  });
  try {
    await body(kimi);
  } finally {
    await kimi.close();
    await server.close();
  }
}
