/**
 * `session.submit` on a server with named callers (an embedder's `authInfo.extra.troupeCaller`):
 * the model call a tool makes is its tool call's caller's, whatever `metadata` the handler passes
 * (here the client's own arguments, an `owner` among them), so another caller neither lists it in
 * `sessions` nor cancels it with `cancel_session` (docs/embedding.md, "A model call inside your handler").
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { createMcpContext } from '../../../src/mcp/context.js';
import { registerTools } from '../../../src/mcp/register.js';
import { withSession } from '../../../src/mcp/with-session.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionHandle } from '../../../src/runtime/types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const structured = (result: unknown) =>
  (result as { structuredContent: Record<string, unknown> }).structuredContent;

it('keeps a tool’s model call its caller’s whatever metadata the handler passes: another caller neither lists nor cancels it', async () => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 400, max: 400 } })],
    defaults: { model: 'sim-fast' },
  });
  const context = createMcpContext({ runtime, log: () => {} });
  let submitted: (child: SessionHandle) => void = () => {};
  const child = new Promise<SessionHandle>((resolve) => {
    submitted = resolve;
  });
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'saas', version: '1' });
    registerTools(server, runtime, { context, tools: ['sessions', 'cancel_session'] });
    server.registerTool(
      'ask',
      { inputSchema: z.object({ tags: z.record(z.string(), z.string()) }) },
      withSession(runtime, async ({ tags }, session) => {
        // A handler that hands the client's own fields on as metadata.
        const handle = session.submit({ messages: [{ role: 'user', content: 'hi' }] }, { metadata: tags });
        submitted(handle);
        const answer = await handle.result;
        return { content: [{ type: 'text', text: answer.ok ? answer.content : answer.error.code }] };
      }),
    );
    return server;
  });
  cleanups.push(async () => {
    context.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  const connect = async (user: string) => {
    const authInfo = {
      token: `tok-${user}`,
      clientId: 'saas-app',
      scopes: [],
      extra: { troupeCaller: user },
    };
    const client = new Client({ name: user, version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://saas.local/mcp'), {
        fetch: (url, init) => handler.fetch(new Request(url, init), { authInfo }),
      }),
    );
    cleanups.push(() => client.close());
    return client;
  };
  const [alice, bob] = [await connect('alice'), await connect('bob')];

  const call = alice.callTool({ name: 'ask', arguments: { tags: { owner: 'user:bob', team: 'red' } } });
  const handle = await child;
  const id = handle.id;
  expect(runtime.session(id)?.owner).toBe('user:alice');
  expect(JSON.stringify(structured(await alice.callTool({ name: 'sessions', arguments: {} })))).toContain(id);
  expect(JSON.stringify(structured(await bob.callTool({ name: 'sessions', arguments: {} })))).not.toContain(
    id,
  );
  const cancel = await bob.callTool({ name: 'cancel_session', arguments: { session_id: id } });
  expect(cancel.isError).toBe(true);
  expect(JSON.stringify(cancel.content)).toContain('UNKNOWN_SESSION');

  expect((await call).isError).toBeFalsy();
  const { metadata } = await handle.result;
  expect(metadata.state).toBe('done');
  expect(metadata.caller).toEqual({ owner: 'user:alice', team: 'red' });
  // Both sessions ended: the owners index holds neither (their summaries name their owner).
  await expect.poll(() => context.owners.size).toBe(0);
});
