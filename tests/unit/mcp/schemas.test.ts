/**
 * The tools' shared schemas (`src/mcp/schemas.ts`) as a client meets them: which arguments a tool
 * takes and which it refuses at each bound, what it keeps of what it takes (a message's tool calls,
 * a tool definition's vendor fields), and the shapes `tools/list` shows for the results.
 */
import { describe, expect, it } from 'vitest';
import { TOOLS } from '../../../src/mcp/register.js';
import { parseArgs, type TroupeTool, toolDefinition } from '../../../src/mcp/tool.js';
import type { WaitingFor } from '../../../src/runtime/limit-types.js';

type Schema = {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  maxItems?: number;
  anyOf?: Schema[];
};

const toolNamed = (name: string): TroupeTool => {
  const found = TOOLS.find((t) => t.name === name);
  if (found === undefined) throw new Error(`no tool ${name}`);
  return found;
};
const inputOf = (name: string) => toolDefinition(toolNamed(name)).inputSchema as Schema;
const outputOf = (name: string) => toolDefinition(toolNamed(name)).outputSchema as Schema;
/** The refusal's problems, or `taken` with the arguments as parsed. */
const verdict = (name: string, args: unknown): string | { taken: unknown } => {
  const parsed = parseArgs(toolNamed(name), args);
  return parsed.ok ? { taken: parsed.args } : (parsed.outcome.structured.error?.message ?? '');
};
const taken = (name: string, args: unknown) => expect(verdict(name, args)).toEqual({ taken: args });

describe('chat messages', () => {
  const call = { id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } };

  it('takes each role, and keeps an assistant’s tool calls and the answers to them whole', () => {
    taken('chat', {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'q', name: 'ann' },
        { role: 'assistant', content: null, tool_calls: [call], reasoning_content: 'hmm' },
        { role: 'tool', content: '42', tool_call_id: 'c1' },
        { role: 'assistant', content: 'The', partial: true },
      ],
    });
  });

  it('refuses a null content but on an assistant message', () => {
    for (const role of ['system', 'user', 'tool']) {
      const message = { role, content: null, ...(role === 'tool' ? { tool_call_id: 'c1' } : {}) };
      expect(verdict('chat', { messages: [message] }), role).toBe(
        'Invalid arguments for chat: `messages.0.content`: Expected a string (null only on an assistant message), got `null`',
      );
    }
  });

  it('refuses a tool message that names no tool call, and only a tool message', () => {
    expect(
      verdict('chat', {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'tool', content: '42' },
        ],
      }),
    ).toBe(
      'Invalid arguments for chat: `messages.1.tool_call_id`: Expected the id of the tool call this tool message answers, got none',
    );
    taken('chat', { messages: [{ role: 'user', content: 'q', tool_call_id: 'c1' }] });
  });

  it('refuses a tool call without its id, kind or function', () => {
    for (const key of ['id', 'type', 'function'] as const) {
      const { [key]: _dropped, ...rest } = call;
      const verdictFor = verdict('chat', {
        messages: [{ role: 'assistant', content: null, tool_calls: [rest] }],
      });
      expect(verdictFor, key).toMatch(
        new RegExp(`^Invalid arguments for chat: Expected \`messages\\.0\\.tool_calls\\.0\\.${key}\``),
      );
    }
    const nameless = { ...call, function: { arguments: '{}' } };
    expect(
      verdict('chat', { messages: [{ role: 'assistant', content: null, tool_calls: [nameless] }] }),
    ).toMatch(/Expected `messages\.0\.tool_calls\.0\.function\.name` to be a string, got none/);
  });
});

describe('tool definitions for the model', () => {
  it('pass through as given, vendor fields and all, but each names its kind', () => {
    const search = { type: 'web_search', web_search: { enable: true } };
    const fn = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } };
    taken('chat', { prompt: 'hi', tools: [search, fn] });
    expect(verdict('chat', { prompt: 'hi', tools: [{ function: { name: 'f' } }] })).toBe(
      'Invalid arguments for chat: Expected `tools.0.type` to be a string, got none',
    );
  });
});

describe('names and ids: refused past their bounds, not echoed', () => {
  const name = (length: number) => 'p'.repeat(length);

  it('takes a provider name of 1 to 256 characters, alone or in a fallback', () => {
    for (const provider of [name(1), name(256)]) {
      taken('chat', { prompt: 'hi', provider });
      taken('chat', { prompt: 'hi', fallbacks: [{ provider, model: 'm' }] });
    }
    for (const provider of ['', name(257)]) {
      const got = `got ${provider.length} characters`;
      expect(verdict('chat', { prompt: 'hi', provider })).toBe(
        `Invalid arguments for chat: Expected \`provider\` to be a string of 1 to 256 characters, ${got}`,
      );
      expect(verdict('consensus', { prompt: 'hi', models: [{ provider, model: 'm' }] })).toBe(
        `Invalid arguments for consensus: Expected \`models.0.provider\` to be a string of 1 to 256 characters, ${got}`,
      );
    }
  });

  it('takes a session id of 1 to 128 characters', () => {
    for (const id of [name(1), name(128)]) {
      taken('sessions', { session_id: id });
      taken('cancel_session', { session_id: id });
    }
    for (const id of ['', name(129)]) {
      expect(verdict('cancel_session', { session_id: id })).toBe(
        `Invalid arguments for cancel_session: Expected \`session_id\` to be a string of 1 to 128 characters, got ${id.length} characters`,
      );
    }
  });

  it('keeps a fallback’s provider and model, up to four fallbacks', () => {
    const four = Array.from({ length: 4 }, (_, i) => ({
      model: `m${i}`,
      ...(i % 2 === 0 ? { provider: 'sim' } : {}),
    }));
    taken('chat', { prompt: 'hi', fallbacks: four });
    expect(verdict('chat', { prompt: 'hi', fallbacks: [{ provider: 'sim' }] })).toBe(
      'Invalid arguments for chat: Expected `fallbacks.0.model` to be a string, got none',
    );
  });
});

describe('what a model reads of the shared arguments in `tools/list`', () => {
  it('says what `fallbacks` are for, how many, when they are used and the default', () => {
    for (const tool of ['chat', 'multi_file_chat']) {
      const fallbacks = inputOf(tool).properties?.fallbacks;
      const description = fallbacks?.description ?? '';
      expect(Number(/^Up to (\d+) models to try/.exec(description)?.[1]), tool).toBe(fallbacks?.maxItems);
      expect(description).toMatch(/out of quota, down, unreachable, silent before its first delta/);
      expect(description).toMatch(/Never used once text has streamed\./);
      expect(description).toMatch(/Default: the model's fallbacks in the providers file\.$/);
      const item = fallbacks?.items?.properties ?? {};
      expect(item.provider?.description).toMatch(/default: whichever serves the model/);
      expect(item.model?.description).toMatch(/see list_models/);
      expect(fallbacks?.items?.required).toEqual(['model']);
    }
  });

  it('says what a message’s tool call kind and its `partial` flag are', () => {
    const message = inputOf('chat').properties?.messages?.items?.properties ?? {};
    expect(message.tool_calls?.items?.properties?.type?.description).toMatch(/^`function`, or a vendor kind/);
    expect(message.partial?.description).toMatch(/^Kimi partial mode/);
  });
});

describe('the results’ shapes in `tools/list`', () => {
  /** What a session's metadata and its summary both name it by. */
  const NAMED = ['sessionId', 'requestId', 'provider', 'model', 'priority', 'state'];

  it('gives every tool’s result `ok`, and the error’s code, message, hint and retryability', () => {
    for (const tool of TOOLS) {
      const output = outputOf(tool.name);
      expect(output.required, tool.name).toContain('ok');
      expect(output.properties?.ok?.type).toBe('boolean');
      expect(output.properties?.error?.required, tool.name).toEqual(['code', 'message', 'hint', 'retryable']);
      expect(Object.keys(output.properties?.error?.properties ?? {})).toEqual([
        'code',
        'message',
        'hint',
        'retryable',
        'retry_after_ms',
        'timeout',
      ]);
    }
  });

  it('gives a model-calling tool’s session its usage, cost and route, each field a client reads', () => {
    for (const tool of ['chat', 'multi_file_chat']) {
      const session = outputOf(tool).properties?.session;
      const fields = session?.properties ?? {};
      expect(fields.usage?.required, tool).toEqual(['promptTokens', 'completionTokens', 'totalTokens']);
      expect(fields.cost?.required).toEqual(['amount', 'currency']);
      expect(fields.route?.items?.required).toEqual(['provider', 'model', 'outcome', 'ms']);
      expect(session?.required).toEqual([...NAMED, 'queuedMs', 'runMs', 'totalMs', 'attempts']);
    }
  });

  it('describes the metadata a client cannot guess: a cost’s currency, notes, a wait’s limit, a route', () => {
    const fields = outputOf('chat').properties?.session?.properties ?? {};
    expect(fields.cost?.description).toMatch(/in the price's currency; absent for a model without a price/);
    expect(fields.notes?.description).toMatch(/What the provider adapter changed in the request/);
    expect(fields.route?.description).toMatch(/every model called or skipped, in order/);
    // Every limit a session can wait on, named as the metadata names it.
    const limits = {
      requestsPerMinute: true,
      tokensPerMinute: true,
      tokensPerDay: true,
      cooldown: true,
      maxConcurrent: true,
      maxRunningPerCaller: true,
    } satisfies Record<WaitingFor, true>;
    for (const limit of Object.keys(limits)) expect(fields.waitingFor?.description).toContain(`\`${limit}\``);
  });

  it('says a partial answer is what was written before a failure, not a whole answer', () => {
    for (const tool of ['chat', 'multi_file_chat']) {
      const partial = outputOf(tool).properties?.partial_answer;
      expect(partial?.required, tool).toEqual(['content']);
      expect(Object.keys(partial?.properties ?? {})).toEqual(['content', 'reasoning']);
      expect(partial?.description).toMatch(
        /^On a failed, timed-out or cancelled call .* Not a whole answer\.$/,
      );
    }
  });

  it('gives a session summary its id, model, state and times', () => {
    for (const tool of ['sessions', 'cancel_session']) {
      const summary = outputOf(tool).properties?.session;
      expect(summary?.required, tool).toEqual([...NAMED, 'createdAt', 'attempts']);
      expect(Object.keys(summary?.properties ?? {})).toEqual(
        expect.arrayContaining(['label', 'startedAt', 'endedAt', 'code']),
      );
    }
  });
});
