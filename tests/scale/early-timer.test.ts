/**
 * A timer may fire before `Date.now()` reaches the time it was set for: Node counts a timer from
 * the event loop's cached time, which lags the wall clock by however long the loop's current turn
 * has run. Under load, a queue timeout set for 150 ms came due when the clock read 149 or less, and
 * the submitting instance's own withdrawal sent the session machine a `session.tick` before its
 * queue deadline: the machine stayed `queued`, and the session ended with a result whose state
 * was `queued` (seen once in `tests/scale/contract.test.ts` under load). Here the clock's timers
 * fire 40 ms early, every time, so the race is not left to the machine's load.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';

const EARLY_MS = 40;

/** The system clock, whose timers fire `EARLY_MS` before their time. */
const earlyClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms - EARLY_MS)),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

describe('a queue timeout whose timer fires early, on a cluster', () => {
  it('ends the session timed out at its queue deadline, never with a result still queued', async () => {
    const hub = new MemoryClusterHub({ clock: earlyClock });
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'p', latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
      limits: { perProvider: { p: 1 } },
      clock: earlyClock,
      backend: memoryClusterBackend({ hub }),
    });
    await runtime.ready;
    const busy = runtime.submit({
      messages: [{ role: 'user', content: 'busy' }],
      extra: { simulateLatencyMs: 800 },
    });
    await expect.poll(() => runtime.status().running).toBe(1);
    const late = runtime.submit({ messages: [{ role: 'user', content: 'late' }] }, { queueTimeoutMs: 150 });
    const result = await late.result;
    expect(result.metadata.state).toBe('timedOut');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('TIMED_OUT');
    // Not before its deadline by the clock the session is measured by.
    expect(result.metadata.queuedMs).toBeGreaterThanOrEqual(150);
    expect((await busy.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 1000 });
  });
});
