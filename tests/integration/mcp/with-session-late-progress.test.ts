/**
 * A `withSession` handler that ignores its signal and calls `session.progress` after its deadline
 * must not send the client a progress notification after the call's result: MCP says progress
 * stops at completion. Before, the handler's own progress calls went to the client whenever they
 * came, after the `TIMED_OUT` result too (seen on the wire below).
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { McpServer } from '@modelcontextprotocol/server';
import { expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/with-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

it('sends no progress notification after the result, even when the handler reports late', async () => {
  const runtime = createRuntime({ providers: [] });
  let reportedLate = false;
  const server = new McpServer({ name: 'mine', version: '1' });
  server.registerTool(
    'stubborn',
    { inputSchema: z.object({}) },
    withSession(
      runtime,
      async (_args, session) => {
        session.progress(0, 2, 'working');
        // Ignores session.signal: runs on past its 50 ms deadline.
        await new Promise((resolve) => setTimeout(resolve, 150));
        session.progress(1, 2, 'after the deadline');
        reportedLate = true;
        return { content: [{ type: 'text', text: 'late' }] };
      },
      { timeoutMs: 50 },
    ),
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const wire: JSONRPCMessage[] = [];
  const send = serverSide.send.bind(serverSide);
  serverSide.send = (message, options) => {
    wire.push(message);
    return send(message, options);
  };
  await server.connect(serverSide);
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  const messages: string[] = [];
  const result = await client.callTool(
    { name: 'stubborn', arguments: {} },
    { onprogress: (progress) => messages.push(progress.message ?? '') },
  );
  expect(result.isError).toBe(true);
  expect(String((result.content as { text: string }[])[0]?.text)).toMatch(/^TIMED_OUT/);
  await expect.poll(() => reportedLate, { timeout: 2000 }).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 30));

  const answered = wire.findIndex((message) => 'id' in message && 'result' in message && message.id !== 0);
  expect(answered).toBeGreaterThan(-1);
  const after = wire.slice(answered + 1).filter((message) => 'method' in message);
  expect(after).toEqual([]);
  // Before the result, the handler's own progress did reach the client.
  expect(messages).toContain('0/2: working');
  await client.close();
  await server.close();
  await runtime.shutdown({ deadlineMs: 0 });
});
