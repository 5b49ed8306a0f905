/**
 * The heartbeat goes out once nothing was sent for the interval, measured from the last
 * notification, whatever sent it. It used to be checked on a fixed `setInterval` tick, so a state
 * change just after a tick pushed the next heartbeat to the second tick after it: with
 * `--progress-ms 2000` a queued call that started 1 s in went 3 s without a notification (seen over
 * HTTP, both eras), and at the documented 10 s cap a client could wait almost 20 s.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ProgressReporter } from '../../../src/mcp/progress.js';
import type { SessionEvent, SessionHandle } from '../../../src/runtime/types.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A session handle whose events the test pushes. */
function scriptedHandle(): { handle: SessionHandle; push: (event: SessionEvent) => void } {
  const queue: SessionEvent[] = [];
  let wake: (() => void) | undefined;
  const events: AsyncIterable<SessionEvent> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift()!;
          yield event;
          if (event.type === 'session.ended') return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  const handle = {
    id: 's1',
    result: new Promise(() => {}),
    events,
    cancel: () => false,
  } as unknown as SessionHandle;
  return {
    handle,
    push(event) {
      queue.push(event);
      wake?.();
    },
  };
}

it('never leaves the client without a notification for longer than the interval', async () => {
  const sent: { at: number; message: string }[] = [];
  const start = Date.now();
  const reporter = new ProgressReporter(async (_, message) => {
    sent.push({ at: Date.now() - start, message });
  }, 2000);
  const { handle, push } = scriptedHandle();
  reporter.watch(handle);
  push({ type: 'session.queued', sessionId: 's1', position: 0, at: start } as SessionEvent);
  await vi.advanceTimersByTimeAsync(1000);
  push({ type: 'session.started', sessionId: 's1', attempt: 1, at: start + 1000 } as SessionEvent);
  await vi.advanceTimersByTimeAsync(8000);
  reporter.stop();
  const times = sent.map((s) => s.at);
  expect(sent[0]?.message).toBe('queued, 0 ahead when it joined');
  expect(sent[1]).toEqual({ at: 1000, message: 'running (attempt 1), 0 chars so far' });
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  expect(Math.max(...gaps, 9000 - times.at(-1)!)).toBeLessThanOrEqual(2000);
  // One per interval after the last state change, not more: 3000, 5000, 7000, 9000.
  expect(times.slice(2)).toEqual([3000, 5000, 7000, 9000]);
});

it('sends nothing after stop', async () => {
  const sent: number[] = [];
  const reporter = new ProgressReporter(async (n) => {
    sent.push(n);
  }, 500);
  await vi.advanceTimersByTimeAsync(1100);
  const before = sent.length;
  expect(before).toBe(2);
  reporter.stop();
  await vi.advanceTimersByTimeAsync(5000);
  expect(sent.length).toBe(before);
});

it('words a task’s notifications without characters, its heartbeats repeating its own last report', async () => {
  const sent: string[] = [];
  const reporter = new ProgressReporter(
    async (_, message) => {
      sent.push(message);
    },
    1000,
    'task',
  );
  const { handle, push } = scriptedHandle();
  reporter.watch(handle);
  push({ type: 'session.started', sessionId: 's1', attempt: 1, at: Date.now() } as SessionEvent);
  await vi.advanceTimersByTimeAsync(1000);
  reporter.step('1/3: reading');
  await vi.advanceTimersByTimeAsync(1000);
  push({ type: 'session.retry', sessionId: 's1', attempt: 2, at: Date.now() } as SessionEvent);
  await vi.advanceTimersByTimeAsync(0);
  reporter.stop();
  expect(sent).toEqual([
    'running (attempt 1)',
    'running (attempt 1)',
    '1/3: reading',
    'running (attempt 1), last reported 1/3: reading',
    'waiting to retry (attempt 2)',
  ]);
});
