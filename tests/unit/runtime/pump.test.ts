/**
 * The admission loop (`src/runtime/pump.ts`) through a small runtime: what a pass charges to its
 * provider's limits. A scripted provider and a simulated clock moved on in one step, so timers that
 * fall in that step fire together (as a late timer does under load).
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { Pump, type PumpPorts } from '../../../src/runtime/pump.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

describe('a held retry', () => {
  it('whose run deadline came in the step its window opened is charged no request: it ends TIMED_OUT', async () => {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const runtime = createLocalRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      limits: { providers: { p: { requestsPerMinute: 1 } } },
      random: () => 0.99,
      clock,
    });
    const handle = runtime.submit(ask, { timeoutMs: 70_000 });
    provider.pending()[0]?.settle('retryable');
    await flush();
    // Its retry is due at 1 s; the window's one request went at 0: the retry is held.
    clock.increment(1000);
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(runtime.status().limits?.p?.remaining.requestsPerMinute).toBe(0);
    // One step past the window's opening (about 61 s), to its run deadline (70 s) exactly.
    clock.increment(69_000);
    await flush();
    const result = await handle.result;
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.error.code).toBe('TIMED_OUT');
    expect(provider.calls).toHaveLength(1);
    // The request at 0 left the window; no call went since, so none is charged.
    expect(runtime.status().limits?.p?.remaining.requestsPerMinute).toBe(1);
    await runtime.shutdown();
  });
});

describe('a pass soon', () => {
  it('runs once for several asks in one turn, after the current work, and an error in it is an uncaught exception', async () => {
    let passes = 0;
    const boom = new Error('boom');
    let throws = false;
    const ports = {
      rates: { begin: () => passes++, end: () => {}, held: new Set(), mayReroute: false },
      stopping: () => {
        if (throws) throw boom;
        return true;
      },
    } as unknown as PumpPorts;
    const pump = new Pump(ports);
    pump.soon();
    pump.soon();
    expect(passes).toBe(0);
    await Promise.resolve();
    expect(passes).toBe(1);
    const thrown: (() => void)[] = [];
    const queue = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => thrown.push(fn));
    try {
      throws = true;
      pump.soon();
      await Promise.resolve();
      expect(passes).toBe(2);
      // Thrown again from a microtask of its own, as `queueMicrotask` ran the pass before.
      expect(thrown).toHaveLength(1);
      expect(() => thrown[0]?.()).toThrow(boom);
    } finally {
      queue.mockRestore();
    }
    // The pump is not left stuck: the next ask runs a pass.
    throws = false;
    pump.soon();
    await Promise.resolve();
    expect(passes).toBe(3);
  });
});
