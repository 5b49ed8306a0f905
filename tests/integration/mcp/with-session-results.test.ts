/**
 * A `withSession` handler that returns no result (a forgotten `return`, from JavaScript or through
 * `any`) gets troupe's error result with its session metadata. Before, its session ended `done`
 * and the wrapper then failed reading the result, so the client got the SDK's bare "Cannot read
 * properties of undefined (reading 'structuredContent')": no code, no session, counted a success.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { type CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/with-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

it.each([
  ['undefined', undefined, 'undefined'],
  ['null', null, 'null'],
  ['a string', 'done', 'string'],
])(
  'answers a handler that returned %s with an INTERNAL error result carrying the session',
  async (_, value, named) => {
    const runtime = createRuntime({ providers: [] });
    const server = new McpServer({ name: 'mine', version: '1' });
    server.registerTool(
      'forgetful',
      { inputSchema: z.object({}) },
      withSession(runtime, async () => value as unknown as CallToolResult, { lane: 'mine' }),
    );
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(clientSide);

    const result = await client.callTool({ name: 'forgetful', arguments: {} });
    expect(result.isError).toBe(true);
    const text = String((result.content as { text: string }[])[0]?.text);
    expect(text).toMatch(/^INTERNAL: /);
    expect(text).toContain(`to return a CallToolResult ({ content: [...] }), got ${named}`);
    expect(result.structuredContent).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
      session: { provider: 'mine', state: 'failed', code: 'INTERNAL', attempts: 1 },
    });
    expect(runtime.metrics().ended).toMatchObject({ failed: 1, done: 0 });
    await client.close();
    await server.close();
    await runtime.shutdown({ deadlineMs: 0 });
  },
);
