/**
 * The cooldown race on a backend, forced: a leased session's start is charged in the shared state,
 * and before that charge is answered another call's `RATE_LIMITED` answer reaches the same
 * instance. The 429's cooldown reaches the shared state only after the charge, so the charge
 * succeeded; the lease runner must give it back and ask again, and then find the cooldown, rather
 * than start a call into a cooldown the instance already knew of. The cluster runtime on in-memory
 * ports on a simulated clock, its shared state wrapped to hold that one answer back.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { providerKey } from '../../src/runtime/limiter.js';
import type { SharedState } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a start charged while a RATE_LIMITED answer arrives on its instance', () => {
  it('is given back and waits for the cooldown that answer began', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const provider = new ScriptedProvider('p');
    /** Runs once the next start of `p` is charged, before that charge is answered. */
    let meanwhile: (() => void) | undefined;
    const runtime = createRuntime({
      providers: [provider],
      clock,
      defaults: { model: 'm', maxAttempts: 1, timeoutMs: 60_000, queueTimeoutMs: 60_000 },
      onError: (error) => {
        throw error;
      },
      backend: {
        kind: 'memory-cluster',
        createRuntime: (options, local) =>
          createClusterRuntime(options, local, (context) => {
            const ports = hub.ports(context);
            const state: SharedState = {
              read: (key) => ports.state.read(key),
              update: async (key, init, change, ttlMs) => {
                const result = await ports.state.update(key, init, change, ttlMs);
                const charged = (result as { ok?: boolean } | undefined)?.ok === true;
                if (key !== providerKey('p') || !charged || meanwhile === undefined) return result;
                const then = meanwhile;
                meanwhile = undefined;
                then();
                // The charge's answer comes back after the 429 was heard and its settle made.
                await flush();
                return result;
              },
            };
            return { ...ports, state };
          }),
      },
    });
    await (runtime as { ready?: Promise<void> }).ready;
    const first = runtime.submit({ messages: [{ role: 'user', content: 'first' }] });
    for (let i = 0; i < 5 && provider.calls.length === 0; i++) await flush();
    expect(provider.calls).toHaveLength(1);
    meanwhile = () => provider.calls[0]?.settle('rateLimited');
    const second = runtime.submit({ messages: [{ role: 'user', content: 'second' }] });
    for (let i = 0; i < 10; i++) await flush();
    const failed = await first.result;
    expect(failed.ok || failed.error.code).toBe('RATE_LIMITED');
    expect(meanwhile).toBeUndefined();
    // Cooling down for the 429's 500 ms: the second session was not started into it.
    expect(provider.calls).toHaveLength(1);
    expect(runtime.session(second.id)?.state).toBe('queued');
    clock.increment(600);
    for (let i = 0; i < 10 && provider.calls.length < 2; i++) await flush();
    expect(provider.calls).toHaveLength(2);
    provider.calls[1]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
