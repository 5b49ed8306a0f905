/**
 * `registerTools` and `withSession` refuse an option they do not take, naming it: from JavaScript
 * a misspelt `tool: ['chat']` used to be ignored, and all six tools (multi_file_chat and
 * cancel_session among them) went on the server; a misspelt `timeout` left the default deadline.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type RegisterToolsOptions, registerTools } from '../../../src/mcp/register.js';
import { type WithSessionOptions, withSession } from '../../../src/mcp/with-session.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });

describe('registerTools options', () => {
  it('refuses a misspelt option instead of registering every tool', () => {
    const server = new McpServer({ name: 'mine', version: '1.0.0' });
    expect(() =>
      registerTools(server, runtime, { tool: ['chat'] } as unknown as RegisterToolsOptions),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('got `tool`') }),
    );
  });

  it('takes the documented ones', () => {
    const server = new McpServer({ name: 'mine', version: '1.0.0' });
    const tools = registerTools(server, runtime, {
      tools: ['chat', 'sessions'],
      prefix: 'troupe_',
      roots: [],
    });
    expect(tools.names).toEqual(['troupe_chat', 'troupe_sessions']);
    tools.close();
  });

  it('refuses a tool named twice, which `tools/list` listed twice', () => {
    const server = new McpServer({ name: 'mine', version: '1.0.0' });
    expect(() => registerTools(server, runtime, { tools: ['chat', 'sessions', 'chat'] })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Expected each tool name once in `tools`, got "chat" twice',
      }),
    );
  });

  it('refuses a prefix making tool names outside MCP’s format, and takes one making names within it', () => {
    const register = (prefix: unknown, tools?: RegisterToolsOptions['tools']) => () =>
      registerTools(new McpServer({ name: 'mine', version: '1.0.0' }), runtime, {
        prefix,
        ...(tools === undefined ? {} : { tools }),
      } as RegisterToolsOptions);
    for (const [prefix, shown] of [
      ['troupe/', '"troupe/" (7 characters)'],
      ['my tools ', '"my tools " (9 characters)'],
      ['é_', '"é_" (2 characters)'],
      [`${'a'.repeat(125)}_`, `"${'a'.repeat(64)}…" (126 characters)`],
      [7, 'a number'],
    ] as const) {
      expect(register(prefix)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: `Expected \`prefix\` to make tool names of 1 to 128 letters, digits, \`_\`, \`-\` and \`.\` (MCP's format), got ${shown}`,
        }),
      );
    }
    // 128 characters with `multi_file_chat`, the longest name, and with `chat` alone: the bound is the name's.
    const longest = 'p'.repeat(128 - 'multi_file_chat'.length);
    expect(register(`${longest}p`)).toThrow(/MCP's format/);
    expect(register(`${longest}p`, ['chat'])().names).toEqual([`${longest}pchat`]);
    expect(register(longest)().names).toContain(`${longest}multi_file_chat`);
    expect(register('troupe.v2-')().names[0]).toBe('troupe.v2-chat');
  });
});

describe('withSession options', () => {
  it('refuses a misspelt option instead of running under the default deadline', () => {
    const handler = async () => ({ content: [] });
    expect(() =>
      withSession(runtime, handler, { timeout: 200 } as unknown as WithSessionOptions<unknown>),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('got `timeout`') }),
    );
    expect(typeof withSession(runtime, handler, { lane: 'lookups', timeoutMs: 200, priority: 7 })).toBe(
      'function',
    );
  });
});
