/**
 * Only what is still running is aborted: a call that answered costs no abort machinery when its
 * session moves on, while one cut short by a cancel or a deadline is aborted, as before.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup() {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { model: 'm' },
    limits: { maxConcurrent: 10 },
    random: () => 0,
  });
  return { clock, provider, runtime };
}

describe('provider call abort', () => {
  it('leaves the signal of a call that answered alone; aborts one cancelled or timed out', async () => {
    const { clock, provider, runtime } = setup();
    const answered = runtime.submit(ask);
    const cancelled = runtime.submit(ask);
    const timedOut = runtime.submit(ask, { timeoutMs: 1000 });
    await flush();
    const [a, b, c] = provider.calls;
    a!.settle('ok');
    expect((await answered.result).metadata.state).toBe('done');
    expect(a!.signal.aborted).toBe(false);
    cancelled.cancel();
    expect((await cancelled.result).metadata.state).toBe('cancelled');
    expect(b!.signal.aborted).toBe(true);
    clock.increment(1000);
    expect((await timedOut.result).metadata.state).toBe('timedOut');
    expect(c!.signal.aborted).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('leaves a finished stream alone too, but still aborts a call that failed', async () => {
    const { provider, runtime } = setup();
    const streamed = runtime.submit({ ...ask, stream: true });
    const failed = runtime.submit(ask, { maxAttempts: 1 });
    await flush();
    const [s, f] = provider.calls;
    s!.settle('ok');
    const result = await streamed.result;
    expect(result).toMatchObject({ ok: true, content: 'answer 0' });
    expect(s!.signal.aborted).toBe(false);
    f!.settle('fatal');
    expect((await failed.result).metadata.state).toBe('failed');
    // The adapter threw: whatever it left behind is told to stop.
    expect(f!.signal.aborted).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('leaves the signal of a task that returned alone; aborts a task that was cancelled', async () => {
    const { runtime } = setup();
    const signals: AbortSignal[] = [];
    const returned = runtime.run(
      async ({ signal }) => {
        signals.push(signal);
        return 42;
      },
      { lane: 'tasks' },
    );
    expect(await returned.result).toMatchObject({ ok: true, value: 42 });
    const hanging = runtime.run(
      ({ signal }) => {
        signals.push(signal);
        return new Promise<never>(() => {});
      },
      { lane: 'tasks' },
    );
    await flush();
    hanging.cancel();
    expect((await hanging.result).metadata.state).toBe('cancelled');
    expect(signals.map((s) => s.aborted)).toEqual([false, true]);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
