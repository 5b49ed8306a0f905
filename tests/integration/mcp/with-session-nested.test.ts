/**
 * A `withSession` tool that asks a model inside its handler: its session holds a `maxConcurrent`
 * slot while it waits for the model's session, which needs one too. With as many such calls at
 * once as slots, every slot is an outer call's: a model call submitted without `parent` waits out
 * its queue deadline; one submitted with `parent: session.sessionId` runs on its tool's slot; a lane
 * limit below `maxConcurrent` leaves room too (docs/embedding.md, "A model call inside your handler").
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { registerTools, type ToolSession, withSession } from '../../../src/mcp/index.js';
import { createSimulatedProvider, SIMULATED_MODELS } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../../src/runtime/types.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The SDK's client on `server`, in memory; both closed after the test. */
async function connected(server: McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'nested-test', version: '1' });
  await client.connect(clientSide);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

/** Three calls at once of a tool that waits until two have started, then asks the model. */
async function threeNestedCalls(
  perProvider: Record<string, number>,
  within: boolean | 'session.submit' = false,
  { texts = ['a', 'b', 'c'], maxQueuedPerCaller }: { texts?: string[]; maxQueuedPerCaller?: number } = {},
) {
  const runtime: Runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 1, max: 3 } })],
    limits: {
      maxConcurrent: 2,
      perProvider,
      ...(maxQueuedPerCaller === undefined ? {} : { maxQueuedPerCaller }),
    },
    defaults: { model: SIMULATED_MODELS[0]?.id ?? 'sim', queueTimeoutMs: 400 },
  });
  cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }));
  let started = 0;
  let twoStarted: () => void = () => {};
  const both = new Promise<void>((resolve) => {
    twoStarted = resolve;
  });
  const server = new McpServer({ name: 'nested', version: '1' });
  server.registerTool(
    'summarize',
    { inputSchema: z.object({ text: z.string() }) },
    withSession(
      runtime,
      async ({ text }, session) => {
        started += 1;
        if (started === 2) twoStarted();
        // Without a lane limit both outer calls hold the two slots here; with one, the second
        // never starts while the first runs, so the first goes on alone.
        await Promise.race([both, new Promise((resolve) => setTimeout(resolve, 50))]);
        const request = { messages: [{ role: 'user' as const, content: text }] };
        const inner = await (within === 'session.submit'
          ? session.submit(request)
          : runtime.submit(request, {
              signal: session.signal,
              ...(within ? { parent: session.sessionId } : {}),
            })
        ).result;
        if (!inner.ok) throw new Error(`${inner.error.code}: ${inner.error.message}`);
        return { content: [{ type: 'text', text: inner.content }] };
      },
      { lane: 'tools', queueTimeoutMs: 5_000 },
    ),
  );
  const client = await connected(server);
  const results = await Promise.all(
    texts.map((text) => client.callTool({ name: 'summarize', arguments: { text } })),
  );
  return results.map((result) => (result.isError === true ? JSON.stringify(result.content) : 'ok'));
}

it('lets every outer call hold a slot while its own model call waits for one, until the model call times out in the queue', async () => {
  const outcomes = await threeNestedCalls({});
  // The two first calls hold both slots and wait for their model calls, which wait for a slot.
  expect(outcomes.filter((outcome) => outcome !== 'ok')).toHaveLength(2);
  for (const outcome of outcomes.filter((o) => o !== 'ok')) expect(outcome).toContain('TIMED_OUT');
});

it('runs each model call on its tool’s slot when submitted within the tool’s session', async () => {
  expect(await threeNestedCalls({}, true)).toEqual(['ok', 'ok', 'ok']);
});

it('leaves the model calls a slot when the tools’ lane is held below maxConcurrent', async () => {
  expect(await threeNestedCalls({ tools: 1 })).toEqual(['ok', 'ok', 'ok']);
});

it('runs a model call submitted with `session.submit` on its tool’s slot, with nothing else to name', async () => {
  expect(await threeNestedCalls({}, 'session.submit')).toEqual(['ok', 'ok', 'ok']);
});

it('takes a running tool’s model call while its caller’s queued tools fill its share of the queue', async () => {
  // Two tools run, three wait: the caller's share of the queue is full when the running ones ask.
  const outcomes = await threeNestedCalls({}, 'session.submit', {
    texts: ['a', 'b', 'c', 'd', 'e'],
    maxQueuedPerCaller: 3,
  });
  expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
});

describe('session.submit', () => {
  /** One call of a tool whose handler runs `body` with the model behind `latencyMs`; the runtime and the call’s result. */
  async function oneCall(
    body: (session: ToolSession) => Promise<string>,
    {
      latencyMs = 1,
      timeoutMs = 5_000,
      priority,
    }: { latencyMs?: number; timeoutMs?: number; priority?: number } = {},
  ) {
    const runtime: Runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: latencyMs, max: latencyMs } })],
      limits: { maxConcurrent: 2 },
      defaults: { model: SIMULATED_MODELS[0]?.id ?? 'sim' },
    });
    cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }));
    const server = new McpServer({ name: 'nested', version: '1' });
    // troupe's own tools beside it, `sessions` among them, as an embedder registers them.
    registerTools(server, runtime);
    server.registerTool(
      'ask',
      { inputSchema: z.object({}) },
      withSession(
        runtime,
        async (_args, session) => ({ content: [{ type: 'text', text: await body(session) }] }),
        { timeoutMs, ...(priority === undefined ? {} : { priority }) },
      ),
    );
    const client = await connected(server);
    const result = await client.callTool({ name: 'ask', arguments: {} });
    return { runtime, client, result };
  }

  it('makes the model call its tool call’s caller’s: in its metadata and in that caller’s `sessions` list', async () => {
    let inner: SessionResult | undefined;
    let tool: { sessionId: string } | undefined;
    const { client } = await oneCall(async (session) => {
      tool = session;
      inner = await session.submit(
        { messages: [{ role: 'user', content: 'hi' }] },
        { metadata: { note: 'kept' }, label: 'inner' },
      ).result;
      return 'done';
    });
    expect(inner?.ok).toBe(true);
    // The same caller as the tool's own session, and the caller's other metadata kept.
    expect(inner?.metadata.caller).toEqual({ owner: 'local', note: 'kept' });
    const listed = await client.callTool({ name: 'sessions', arguments: {} });
    const ids = JSON.stringify(listed.structuredContent);
    expect(ids).toContain(inner?.metadata.sessionId);
    expect(ids).toContain(tool?.sessionId);
  });

  it('cancels the model call when its tool call’s session ends, and when a signal of the handler’s aborts', async () => {
    const ends: SessionResult[] = [];
    await oneCall(
      async (session) => {
        const mine = new AbortController();
        const cut = session.submit({ messages: [{ role: 'user', content: 'cut' }] }, { signal: mine.signal });
        mine.abort('not needed');
        ends.push(await cut.result);
        // Then one left running when the tool's run deadline passes, with a signal of its own too.
        const left = session.submit(
          { messages: [{ role: 'user', content: 'left' }] },
          { signal: new AbortController().signal },
        );
        left.result.then((result) => ends.push(result));
        return new Promise<string>(() => {});
      },
      { latencyMs: 2_000, timeoutMs: 150 },
    );
    await expect.poll(() => ends).toHaveLength(2);
    expect(ends.map((end) => end.metadata.state)).toEqual(['cancelled', 'cancelled']);
  });

  it('runs the model call at its tool call’s priority unless the handler gives one', async () => {
    const priorities: number[] = [];
    await oneCall(
      async (session) => {
        for (const options of [{}, { priority: 2 }]) {
          const result = await session.submit({ messages: [{ role: 'user', content: 'hi' }] }, options)
            .result;
          priorities.push(result.metadata.priority);
        }
        return 'done';
      },
      { priority: 8 },
    );
    expect(priorities).toEqual([8, 2]);
  });
});
