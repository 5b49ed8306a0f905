/**
 * The cluster runtime keeps the library's edges as the local runtime does (review of the library
 * audit's fixes, which went into the local runtime alone): an async subscriber's rejection goes to
 * `onError` (it was unhandled, and Node ended the process), and a cancel reason is kept as text of
 * at most 500 characters (a Symbol failed the session INTERNAL and threw; a 5 MB reason was kept).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const runtime of open.splice(0)) await runtime.shutdown({ deadlineMs: 0 });
});

async function clusterRuntime(errors: unknown[]): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 60_000, max: 60_000 } })],
    defaults: { model: 'sim-fast' },
    onError: (error) => errors.push(error),
    backend: memoryClusterBackend({ hub: new MemoryClusterHub() }),
  });
  open.push(runtime);
  await (runtime as { ready?: Promise<void> }).ready;
  return runtime;
}

const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('the cluster runtime’s edges', () => {
  it('reports an async subscriber’s rejection to onError, and a sync listener returning nothing is no error', async () => {
    const errors: unknown[] = [];
    const runtime = await clusterRuntime(errors);
    const boom = new Error('async boom');
    runtime.subscribe(async () => {
      throw boom;
    });
    runtime.subscribe(() => undefined);
    const handle = runtime.submit(ask);
    handle.cancel('done with it');
    await handle.result;
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((error) => error === boom)).toBe(true);
  });

  it('keeps a cancel reason as text of at most 500 characters', async () => {
    const runtime = await clusterRuntime([]);
    const bySymbol = runtime.submit(ask);
    runtime.cancel(bySymbol.id, Symbol('why') as never);
    const long = runtime.submit(ask);
    runtime.cancel(long.id, 'x'.repeat(5_000_000));
    const [symbol, cut] = [await bySymbol.result, await long.result];
    expect(symbol.ok ? '' : symbol.error).toMatchObject({
      code: 'CANCELLED',
      message: 'Cancelled: Symbol(why)',
    });
    expect(cut.ok ? '' : cut.error.message).toBe(`Cancelled: ${'x'.repeat(499)}…`);
  });
});
