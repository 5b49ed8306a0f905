/**
 * `withSession`'s arguments as they wait (`limits.maxQueuedBytes`), handed in process by an embedder
 * (no HTTP body bound before them): measured only until past the runtime's bound, then refused.
 */
import type { ServerContext } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import { withSession } from '../../../src/mcp/index.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ctx = {
  sessionId: undefined,
  mcpReq: {
    id: 7,
    signal: new AbortController().signal,
    _meta: undefined,
    log: async () => {},
    notify: async () => {},
  },
} as unknown as ServerContext;

function runtimeOf(maxQueuedBytes: number) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim' })],
    limits: { maxQueuedBytes },
    defaults: { model: 'sim-fast' },
  });
  cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }));
  return runtime;
}

it('measures a tool’s in-process arguments only until past the runtime’s byte bound, and refuses them unread past it', async () => {
  const runtime = runtimeOf(10_000);
  let ran = 0;
  const tool = withSession(runtime, async () => {
    ran += 1;
    return { content: [] };
  });
  // Wide: 100,000 small strings, each read through a Proxy that counts the reads. Until 2026-12-07
  // every one was read (no limit on the count) before the bound refused the call.
  let reads = 0;
  const words = new Proxy(
    Array.from({ length: 100_000 }, () => 'word'),
    {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
        return Reflect.get(target, key, receiver);
      },
    },
  );
  const wide = await tool({ words, text: 'x' }, ctx);
  expect(wide.isError).toBe(true);
  expect(wide.structuredContent).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  expect(JSON.stringify(wide.content)).toContain('at most 10000 bytes of JSON');
  expect(reads).toBeLessThan(2_000);
  // An array of length 1e9 is over by its length: none of it is read.
  reads = 0;
  const long = new Proxy(new Array<string>(1e9), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
      return Reflect.get(target, key, receiver);
    },
  });
  expect((await tool({ long }, ctx)).isError).toBe(true);
  expect(reads).toBe(0);
  expect(ran).toBe(0);
  // Within the bound, the call runs and its arguments' bytes are what it held.
  expect((await tool({ text: 'a'.repeat(9_000) }, ctx)).isError).toBeFalsy();
  expect(ran).toBe(1);
});
