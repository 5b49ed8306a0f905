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
