/**
 * Shared by the local runtime's unit tests: one turn of the event loop, and a shutdown that cancels
 * what is left while the simulated clock runs the drain deadline.
 */
import type { SimulatedClock } from 'xstate';
import type { LocalRuntime } from '../../src/runtime/backend.js';

/** After every microtask and I/O callback queued so far. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Shuts down, cancelling what is left: the simulated clock runs the drain deadline. */
export async function stop(runtime: LocalRuntime, clock: SimulatedClock) {
  const report = runtime.shutdown({ deadlineMs: 0 });
  for (let i = 0; i < 5; i++) {
    clock.increment(1);
    await flush();
  }
  return report;
}
