/**
 * `troupe/mcp` in a user's own `McpServer`: `withSession` tools next to `registerTools`' tools,
 * over the SDK's in-memory transport with a real SDK client.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { authInfoFor } from '../../../src/mcp/caller.js';
import { createMcpContext } from '../../../src/mcp/context.js';
import { registerTools, TOOL_NAMES, withSession } from '../../../src/mcp/index.js';
import { visibleLive, visibleSession } from '../../../src/mcp/scope.js';
import { createSimulatedProvider, SIMULATED_MODELS } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function makeRuntime(): Runtime {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 1, max: 3 } })],
    limits: { perProvider: { slow: 2 } },
    defaults: { model: SIMULATED_MODELS[0]?.id ?? 'sim' },
  });
  cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }));
  return runtime;
}

async function connect(server: McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'with-session-test', version: '1' });
  await client.connect(clientSide);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

/** Resolves when `open()` is called; counts handlers in flight. */
function gate() {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, open: () => release() };
}

it('serves its own withSession tools next to a prefixed subset of troupe tools, with metadata and tasks', async () => {
  const runtime = makeRuntime();
  const server = new McpServer({ name: 'mine', version: '1' });
  server.registerTool(
    'echo',
    { inputSchema: z.object({ text: z.string() }) },
    withSession(
      runtime,
      async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
      {
        lane: 'echo',
        name: 'echo-tool',
      },
    ),
  );
  const registered = registerTools(server, runtime, { tools: ['chat', 'sessions'], prefix: 'troupe_' });
  cleanups.push(async () => registered.close());
  // A tool registered after troupe's must still be reachable.
  server.registerTool('plain', { inputSchema: z.object({}) }, async () => ({
    content: [{ type: 'text', text: 'plain' }],
  }));
  const client = await connect(server);

  const names = (await client.listTools()).tools.map((tool) => tool.name).sort();
  expect(names).toEqual(['echo', 'plain', 'troupe_chat', 'troupe_sessions']);
  expect(registered.names).toEqual(['troupe_chat', 'troupe_sessions']);
  expect(TOOL_NAMES).toHaveLength(6);
  expect(client.getServerCapabilities()?.tasks?.requests).toEqual({ tools: { call: {} } });

  const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  expect(echo.isError).toBeUndefined();
  expect(echo.structuredContent).toMatchObject({
    text: 'hi',
    // Its caller (the one client of an in-memory transport), as a `chat` session's: in its
    // metadata, and counted toward that caller's share of the queue (limits.maxQueuedPerCaller).
    session: { state: 'done', provider: 'echo', model: 'echo-tool', attempts: 1, caller: { owner: 'local' } },
  });
  expect((await client.callTool({ name: 'plain', arguments: {} })).content).toEqual([
    { type: 'text', text: 'plain' },
  ]);
  const chat = await client.callTool({ name: 'troupe_chat', arguments: { prompt: 'hello' } });
  expect(chat.isError).toBeUndefined();
  expect(chat.structuredContent).toMatchObject({ ok: true, session: { state: 'done', provider: 'sim' } });
  const bad = await client.callTool({ name: 'troupe_chat', arguments: { priority: 12, prompt: 'x' } });
  expect(bad.isError).toBe(true);
  expect(JSON.stringify(bad.content)).toContain('INVALID_REQUEST');
});

it('holds the lane limit, gives a deadline that aborts the handler, and reports progress', async () => {
  const runtime = makeRuntime();
  const server = new McpServer({ name: 'mine', version: '1' });
  let inFlight = 0;
  let maxInFlight = 0;
  const release = gate();
  const aborted: string[] = [];
  server.registerTool(
    'slow',
    { inputSchema: z.object({ id: z.number(), waitForAbort: z.boolean().optional() }) },
    withSession(
      runtime,
      async ({ id, waitForAbort }, session) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          session.progress(1, 2, `started ${id}`);
          if (waitForAbort) {
            await new Promise<void>((resolve) =>
              session.signal.addEventListener('abort', () => resolve(), { once: true }),
            );
            aborted.push(String(session.signal.reason));
            throw session.signal.reason;
          }
          await release.opened;
          return { content: [{ type: 'text', text: `done ${id}` }] };
        } finally {
          inFlight -= 1;
        }
      },
      {
        lane: 'slow',
        timeoutMs: ({ waitForAbort }) => (waitForAbort ? 100 : 20_000),
        progressIntervalMs: 50,
      },
    ),
  );
  const client = await connect(server);

  const messages: string[] = [];
  const calls = Array.from({ length: 6 }, (_, id) =>
    client.callTool(
      { name: 'slow', arguments: { id } },
      { onprogress: (p) => messages.push(String(p.message)) },
    ),
  );
  await expect.poll(() => inFlight).toBe(2);
  await expect.poll(() => messages.some((m) => m.includes('queued'))).toBe(true);
  // A running task's heartbeat repeats its own last report; it has no characters to count (until
  // 2026-12-05 it said "running (attempt 1), 0 chars so far", as a model call that wrote nothing).
  await expect
    .poll(() => messages.some((m) => /^running \(attempt 1\), last reported 1\/2: started \d$/.test(m)))
    .toBe(true);
  release.open();
  const results = await Promise.all(calls);
  expect(maxInFlight).toBe(2);
  expect(results.every((r) => r.isError === undefined)).toBe(true);
  expect(messages).toContain('1/2: started 0');
  expect(messages.filter((m) => m.includes('chars'))).toEqual([]);

  const timedOut = await client.callTool({ name: 'slow', arguments: { id: 9, waitForAbort: true } });
  expect(timedOut.isError).toBe(true);
  expect(timedOut.structuredContent).toMatchObject({
    ok: false,
    error: { code: 'TIMED_OUT' },
    session: { state: 'timedOut', code: 'TIMED_OUT', provider: 'slow' },
  });
  expect(aborted).toHaveLength(1);
});

it("aborts the handler's signal when the client cancels the request", async () => {
  const runtime = makeRuntime();
  const server = new McpServer({ name: 'mine', version: '1' });
  const started = gate();
  const sawAbort = gate();
  server.registerTool(
    'hang',
    { inputSchema: z.object({}) },
    withSession(runtime, async (_args, session) => {
      started.open();
      await new Promise<void>((resolve) => session.signal.addEventListener('abort', () => resolve()));
      sawAbort.open();
      return { content: [] };
    }),
  );
  const client = await connect(server);
  const controller = new AbortController();
  const call = client.callTool({ name: 'hang', arguments: {} }, { signal: controller.signal });
  await started.opened;
  controller.abort('user gave up');
  await expect(call).rejects.toThrow();
  await sawAbort.opened;
  await expect.poll(() => runtime.status().recent[0]?.state).toBe('cancelled');
});

it('refuses with an error result naming the code when the runtime is shutting down', async () => {
  const runtime = makeRuntime();
  const server = new McpServer({ name: 'mine', version: '1' });
  server.registerTool(
    'echo',
    { inputSchema: z.object({}) },
    withSession(runtime, async () => ({ content: [{ type: 'text', text: 'never' }] })),
  );
  const client = await connect(server);
  await runtime.shutdown({ deadlineMs: 0 });
  const refused = await client.callTool({ name: 'echo', arguments: {} });
  expect(refused.isError).toBe(true);
  expect(refused.structuredContent).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
});

it('shows a host tool’s session to the named token that started it, and to no other, beside troupe’s own tools', async () => {
  // Before, only `chat` recorded its caller: a `withSession` session showed to admins alone, so a
  // client with a named token could neither list nor cancel its own host-tool call.
  const runtime = makeRuntime();
  const mcp = createMcpContext({ runtime, log: () => {} });
  cleanups.push(async () => mcp.close());
  const started = gate();
  const finish = gate();
  const handler = withSession(runtime, async () => {
    started.open();
    await finish.opened;
    return { content: [] };
  });
  // What the SDK hands a tool over Streamable HTTP for a request with alice's named token.
  const ctx = {
    sessionId: undefined,
    http: { authInfo: authInfoFor({ name: 'alice', token: 'alice-token-1' }) },
    mcpReq: {
      id: 7,
      signal: new AbortController().signal,
      _meta: undefined,
      log: async () => {},
      notify: async () => {},
    },
  } as unknown as ServerContext;
  const result = handler({}, ctx);
  await started.opened;
  const alice = { caller: { key: 'token:alice', admin: false } };
  const bob = { caller: { key: 'token:bob', admin: false } };
  expect(visibleLive(mcp, alice).map((s) => s.state)).toEqual(['running']);
  expect(visibleLive(mcp, bob)).toEqual([]);
  finish.open();
  const session = ((await result).structuredContent as { session: { sessionId: string; caller: unknown } })
    .session;
  expect(session.caller).toEqual({ owner: 'token:alice' });
  expect(visibleSession(mcp, alice, session.sessionId)?.state).toBe('done');
  expect(visibleSession(mcp, bob, session.sessionId)).toBeUndefined();
});
