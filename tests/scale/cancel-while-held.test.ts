/**
 * A cancel that reaches the instance holding a lease before its run starts, when that lease then
 * goes back to the queue (its limits could not be read, or a limit held it): the session must end
 * cancelled at its next lease, with no provider call. Until 2026-12-02 the runner kept the reason
 * in the lease alone and told the cluster it had it, so nothing marked the session: once the lease
 * went back, the cancel was gone, and the session ran to its run deadline (seen in about one run in
 * three of the demo's mix on Redis). On the in-memory cluster, with the shared limits held by hand.
 */
import { expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

it('ends a session cancelled while its lease waited for the limits, once that lease went back to the queue', async () => {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const hub = new MemoryClusterHub({ clock });
  // The shared limits' first answer is held until the test lets it fail (a cut, as on Redis).
  const update = hub.state.update.bind(hub.state);
  let fail: (error: Error) => void = () => {};
  let held = false;
  hub.state.update = ((...args: Parameters<typeof update>) => {
    if (held || !String(args[0]).startsWith('limits:')) return update(...args);
    held = true;
    return new Promise((_, reject) => (fail = reject));
  }) as typeof update;
  const provider = new ScriptedProvider('p');
  const errors: unknown[] = [];
  const runtime = createRuntime({
    providers: [provider],
    defaults: { model: 'm', provider: 'p' },
    clock,
    onError: (error) => errors.push(error),
    backend: memoryClusterBackend({ hub, sweepIntervalMs: 1000 }),
  });
  await runtime.ready;
  const handle = runtime.submit(
    { messages: [{ role: 'user', content: 'hello' }] },
    { queueTimeoutMs: 60_000 },
  );
  await flush();
  expect(held).toBe(true);
  // Leased, asking the limits: the cancel reaches the instance that holds the lease.
  handle.cancel('stop');
  await flush();
  // The limits cannot be read: the lease goes back to the queue for a second.
  fail(new Error('shared state cut'));
  await flush();
  for (let i = 0; i < 3; i++) {
    clock.increment(1000);
    await flush();
  }
  // Leased again: it ends there, uncalled (with the cancel lost, the call starts and hangs).
  expect(provider.calls.length).toBe(0);
  expect(runtime.session(handle.id)?.state).toBe('cancelled');
  const result = await handle.result;
  expect(result.metadata.state).toBe('cancelled');
  expect(errors.map(String)).toEqual(['Error: shared state cut']);
  await runtime.shutdown({ deadlineMs: 0 });
});
