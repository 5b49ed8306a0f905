/**
 * A `withSession` tool that asks a model inside its handler: its session holds a `maxConcurrent`
 * slot while it waits for the model's session, which needs one too. With as many such calls at
 * once as slots, every slot is an outer call's: a model call submitted without `parent` waits out
 * its queue deadline; one submitted with `parent: session.sessionId` runs on its tool's slot; a lane
 * limit below `maxConcurrent` leaves room too (docs/embedding.md, "A model call inside your handler").
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/index.js';
import { createSimulatedProvider, SIMULATED_MODELS } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Three calls at once of a tool that waits until two have started, then asks the model. */
async function threeNestedCalls(perProvider: Record<string, number>, within = false) {
  const runtime: Runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 1, max: 3 } })],
    limits: { maxConcurrent: 2, perProvider },
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
        const inner = await runtime.submit(
          { messages: [{ role: 'user', content: text }] },
          { signal: session.signal, ...(within ? { parent: session.sessionId } : {}) },
        ).result;
        if (!inner.ok) throw new Error(`${inner.error.code}: ${inner.error.message}`);
        return { content: [{ type: 'text', text: inner.content }] };
      },
      { lane: 'tools', queueTimeoutMs: 5_000 },
    ),
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'nested-test', version: '1' });
  await client.connect(clientSide);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  const results = await Promise.all(
    ['a', 'b', 'c'].map((text) => client.callTool({ name: 'summarize', arguments: { text } })),
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
