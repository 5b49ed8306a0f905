/**
 * A session taken over by another instance (here: handed back on shutdown) is charged to its
 * provider's limits once for the call it makes there, not twice (once when leased, again as the
 * further attempt it resumes as). The cluster runtime on in-memory ports, on a simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function advance(clock: SimulatedClock, ms: number, stepMs = 100): Promise<void> {
  await flush();
  for (let passed = 0; passed < ms; passed += stepMs) {
    clock.increment(Math.min(stepMs, ms - passed));
    await flush();
    await flush();
  }
}

describe('a taken-over session and its provider limits', () => {
  it('charges the call it makes after the takeover once', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const provider = new ScriptedProvider('p');
    const errors: unknown[] = [];
    const instance = (): Runtime =>
      createRuntime({
        providers: [provider],
        defaults: { model: 'm', maxAttempts: 3 },
        limits: { providers: { p: { requestsPerMinute: 10 } } },
        clock,
        onError: (error) => errors.push(error),
        backend: memoryClusterBackend({ hub, sweepIntervalMs: 1000 }),
      });
    const a = instance();
    await a.ready;
    const handle = a.submit({ messages: [{ role: 'user', content: 'long' }] }, { timeoutMs: 60_000 });
    await advance(clock, 200);
    expect(provider.pending().length).toBe(1);
    const b = instance();
    await b.ready;
    const report = a.shutdown({ deadlineMs: 1000 });
    await advance(clock, 1500);
    await report;
    // B took it up and called the provider again: two calls in the minute, two charges.
    expect(provider.calls.length).toBe(2);
    provider.pending()[0]?.settle('ok');
    await advance(clock, 1100);
    expect(b.session(handle.id)?.state).toBe('done');
    expect(b.status().limits?.p?.remaining.requestsPerMinute).toBe(10 - provider.calls.length);
    await b.shutdown({ deadlineMs: 0 });
    expect(errors).toEqual([]);
  });
});
