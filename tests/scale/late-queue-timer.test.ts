/**
 * The other side of `early-timer.test.ts`: a queue timeout whose timer fires late (a busy event
 * loop), so the session's lease comes first, past its queue deadline. The lease runner must time
 * it out there, uncharged (no request counted in the provider's window) and never called, as the in-memory runtime does at its deadline: a
 * session the caller gave up waiting for at `queueTimeoutMs` does not run because a timer was late.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';

const QUEUE_TIMEOUT_MS = 150;
const LATE_MS = 1500;

/** The system clock, whose timers set for about the queue timeout fire `LATE_MS` late. */
const lateClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) =>
    setTimeout(fn, ms > QUEUE_TIMEOUT_MS - 50 && ms <= QUEUE_TIMEOUT_MS ? ms + LATE_MS : ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

describe('a queue timeout whose timer fires late, on a cluster', () => {
  it('times out a session leased past its queue deadline, without calling the provider', async () => {
    const hub = new MemoryClusterHub({ clock: lateClock });
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'p', latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
      limits: { perProvider: { p: 1 }, providers: { p: { requestsPerMinute: 10 } } },
      clock: lateClock,
      backend: memoryClusterBackend({ hub }),
    });
    await runtime.ready;
    const busy = runtime.submit({
      messages: [{ role: 'user', content: 'busy' }],
      extra: { simulateLatencyMs: 600 },
    });
    await expect.poll(() => runtime.status().running).toBe(1);
    const late = runtime.submit(
      { messages: [{ role: 'user', content: 'late' }] },
      { queueTimeoutMs: QUEUE_TIMEOUT_MS },
    );
    const result = await late.result;
    expect(result.metadata.state).toBe('timedOut');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('TIMED_OUT');
    expect(result.metadata.attempts).toBe(0);
    expect((await busy.result).ok).toBe(true);
    // Uncharged: the busy call's request alone is counted in the minute's window (read from the
    // mirror of the shared state, at most about 1 s old: read after it has caught up).
    await new Promise((r) => setTimeout(r, 1500));
    expect(runtime.status().limits?.p?.remaining.requestsPerMinute).toBe(9);
    await runtime.shutdown({ deadlineMs: 1000 });
  });
});
