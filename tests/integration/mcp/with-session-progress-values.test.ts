/**
 * `session.progress(...)` held to MCP's progress notification: a value MCP cannot carry (from
 * JavaScript: a string, NaN, an object) fails the call with `INVALID_REQUEST` naming it, and a
 * `progress` not above the last is no notification (MCP's `progress` must grow). Until 2026-12-07
 * both went out: texts such as `NaN/4` or `[object Object]`, and a step that read as going backwards.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/with-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(handler: Parameters<typeof withSession>[1]): Promise<Client> {
  const runtime = createRuntime({ providers: [] });
  const server = new McpServer({ name: 'mine', version: '1' });
  server.registerTool('tool', { inputSchema: z.object({}) }, withSession(runtime, handler));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  cleanups.push(
    () => runtime.shutdown({ deadlineMs: 0 }),
    () => server.close(),
    () => client.close(),
  );
  return client;
}

it('sends a `progress` not above the last as no notification', async () => {
  const client = await serve(async (_args, session) => {
    session.progress(0, 3, 'first');
    session.progress(0, 3, 'the same again');
    session.progress(-1, 3, 'backwards');
    session.progress(2, 3, 'second');
    return { content: [{ type: 'text', text: 'ok' }] };
  });
  const messages: string[] = [];
  const result = await client.callTool(
    { name: 'tool', arguments: {} },
    { onprogress: (progress) => messages.push(progress.message ?? '') },
  );
  expect(result.isError).toBeUndefined();
  // The handler's own reports (troupe's queued, running and heartbeat notifications aside).
  expect(messages.filter((m) => /^-?\d+\/3: /.test(m))).toEqual(['0/3: first', '2/3: second']);
});

it('fails the call with INVALID_REQUEST naming a `progress` MCP could not carry', async () => {
  const client = await serve(async (_args, session) => {
    // What a JavaScript handler can do.
    (session.progress as (...args: unknown[]) => void)('3', 4);
    return { content: [{ type: 'text', text: 'ok' }] };
  });
  const result = await client.callTool({ name: 'tool', arguments: {} }, { onprogress: () => undefined });
  expect(result.isError).toBe(true);
  expect((result.content as { text: string }[])[0]?.text).toMatch(
    /^INVALID_REQUEST: Expected `progress` to be a finite number, got `"3"` \(string\)/,
  );
});
