/**
 * A `withSession` tool's error results give hints in words that fit the embedder's tool: until
 * 2026-12-07 one past its deadline told its client to call again "with a larger timeout_ms", and
 * one whose queue deadline passed to "give it a higher priority", neither an argument of the tool,
 * and a model call it made to an unknown model to "call list_models", a tool its server may not have.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/with-session.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

let runtime: Runtime | undefined;
let client: Client | undefined;
const releases: (() => void)[] = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  await client?.close();
  await runtime?.shutdown({ deadlineMs: 0 });
});

async function serve(): Promise<Client> {
  runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast' },
    limits: { maxConcurrent: 4, perProvider: { mine: 1 } },
  });
  const held = runtime;
  const server = new McpServer({ name: 'mine', version: '1' });
  server.registerTool(
    'slow',
    { inputSchema: z.object({ ms: z.number() }) },
    withSession(
      held,
      ({ ms }, session) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve({ content: [{ type: 'text', text: 'ok' }] }), ms);
          session.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(session.signal.reason);
          });
        }),
      { lane: 'mine', timeoutMs: 100, queueTimeoutMs: 20 },
    ),
  );
  // Holds the lane until the test lets it go (`release`), whatever the machine's load.
  server.registerTool(
    'hold',
    { inputSchema: z.object({}) },
    withSession(held, () => new Promise((resolve) => releases.push(() => resolve({ content: [] }))), {
      lane: 'mine',
    }),
  );
  server.registerTool(
    'ask',
    { inputSchema: z.object({}) },
    withSession(held, async (_, session) => {
      const answer = await session.submit({
        provider: 'nowhere',
        messages: [{ role: 'user', content: 'hi' }],
      }).result;
      return { content: [{ type: 'text', text: answer.ok ? answer.content : answer.error.code }] };
    }),
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  return client;
}

function errorOf(result: unknown): { code: string; hint: string; timeout?: string } {
  return (result as { structuredContent: { error: { code: string; hint: string; timeout?: string } } })
    .structuredContent.error;
}
function textOf(result: unknown): string {
  return String((result as { content: { text: string }[] }).content[0]?.text);
}

it('tells a tool’s run deadline without naming troupe’s `timeout_ms`', async () => {
  const mcp = await serve();
  const result = await mcp.callTool({ name: 'slow', arguments: { ms: 5_000 } });
  const error = errorOf(result);
  expect(error).toMatchObject({ code: 'TIMED_OUT', timeout: 'run' });
  expect(error.hint).toBe('The call passed its deadline. Call again with a shorter request, or later.');
  expect(textOf(result)).not.toContain('timeout_ms');
});

it('tells a tool’s queue deadline without naming troupe’s `timeout_ms` or `priority`', async () => {
  const mcp = await serve();
  // The lane taken until the second call has its answer: until 2026-12-07 the first was `slow`
  // itself, whose 100 ms run deadline could free the lane before a loaded machine queued the second.
  const first = mcp.callTool({ name: 'hold', arguments: {} });
  await expect.poll(() => runtime?.status().running, { timeout: 10_000 }).toBe(1);
  const second = await mcp.callTool({ name: 'slow', arguments: { ms: 1 } });
  const error = errorOf(second);
  expect(error).toMatchObject({ code: 'TIMED_OUT', timeout: 'queue' });
  expect(error.hint).toMatch(/^The call waited in the queue past its queue deadline without starting/);
  expect(textOf(second)).not.toMatch(/timeout_ms|priority/);
  for (const release of releases.splice(0)) release();
  expect((await first).isError).not.toBe(true);
});

it('tells a refused model call without naming troupe’s `list_models`', async () => {
  const mcp = await serve();
  const result = await mcp.callTool({ name: 'ask', arguments: {} });
  const error = errorOf(result);
  expect(error.code).toBe('UNKNOWN_PROVIDER');
  expect(error.hint).toBe('The server has no such provider. Call again with another one.');
  expect(textOf(result)).not.toContain('list_models');
});
