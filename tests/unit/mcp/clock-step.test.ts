/**
 * A wall-clock step moves none of the MCP layer's own times: the unsent bytes bound's stall and
 * its held writes (`stalledResponseMs`), and progress notifications' throttle and heartbeat, are
 * measured on the steady clock. Real timers and the default clock; the wall clock is `Date.now`,
 * stepped by the test (as in tests/unit/runtime/clock-step.test.ts). Until 2026-12-07 they read
 * `Date.now()`: set forward, every response with bytes waiting was cut off at the next check and
 * every held answer sent as its error; set back, none was for the length of the step, and a call
 * got no heartbeat (a client's 60 s timeout gave up on it) and no streamed count. A stop's wait for
 * tool results to be written (`flushMs`) was skipped, or waited the step out. A step forward
 * dropped every conversation held in memory past its TTL, and forgot a `notifications/cancelled`
 * for a call not started yet.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, expect, it, vi } from 'vitest';
import { CallRegistry } from '../../../src/mcp/call-registry.js';
import { createMcpContext } from '../../../src/mcp/context.js';
import { MemoryConversationStore } from '../../../src/mcp/conversations.js';
import { UnsentResponses } from '../../../src/mcp/http-unsent.js';
import { ProgressReporter } from '../../../src/mcp/progress.js';
import { gracefulStop } from '../../../src/mcp/shutdown.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionEvent, SessionHandle } from '../../../src/runtime/types.js';
import { HOUR, steppable, wall } from '../../support/wall-step.js';

const closing: (() => void)[] = [];

afterEach(() => {
  for (const close of closing.splice(0)) close();
  vi.restoreAllMocks();
  wall.stepMs = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A response stand-in with what the bound reads: its writes wait unsent until the test says. */
class Response extends EventEmitter {
  readonly socket = null;
  readonly _header = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n';
  writableLength = 0;
  readonly written: string[] = [];
  destroyed = false;
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += Buffer.byteLength(chunk);
    return false;
  }
  destroy(): void {
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
  }
}

/** An SSE event carrying a tool result for `id`, about `size` bytes. */
function answer(id: number, size: number): string {
  const result = { content: [{ type: 'text', text: 'x'.repeat(size) }] };
  return `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result })}\n\n`;
}

/** Two responses: the first's answer waits unsent, the second's is held (it does not fit beside it). */
function waitingAndHeld(stalledMs: number) {
  steppable();
  const unsent = new UnsentResponses({ maxBytes: 1000, stalledMs });
  closing.push(() => unsent.close());
  const [waiting, held] = [new Response(), new Response()];
  for (const res of [waiting, held]) unsent.watch(res as unknown as ServerResponse);
  waiting.write(answer(1, 600));
  held.write(answer(2, 600));
  unsent.check();
  expect([waiting.destroyed, held.written.length, unsent.heldBytes > 600]).toEqual([false, 0, true]);
  return { unsent, waiting, held };
}

it('cuts off no response and sends no held answer as its error when the wall clock is set forward an hour', () => {
  const { unsent, waiting, held } = waitingAndHeld(5_000);
  wall.stepMs = HOUR;
  unsent.check();
  // Bytes gone out (none here) try the held writes again, on their own.
  waiting.emit('drain');
  expect([waiting.destroyed, held.written.length, unsent.heldBytes > 600]).toEqual([false, 0, true]);
});

it('holds a write made after the wall clock was set back an hour for its `stalledMs`, not an hour less', () => {
  wall.stepMs = -HOUR;
  const { unsent, waiting, held } = waitingAndHeld(5_000);
  unsent.check();
  waiting.emit('drain');
  expect([waiting.destroyed, held.written.length, unsent.heldBytes > 600]).toEqual([false, 0, true]);
});

it('cuts off a stalled response and sends a held answer as its error at `stalledMs` when the wall clock is set back an hour', async () => {
  const { unsent, waiting, held } = waitingAndHeld(200);
  wall.stepMs = -HOUR;
  await sleep(250);
  unsent.check();
  expect(waiting.destroyed).toBe(true);
  expect(held.written).toHaveLength(1);
  expect(held.written[0]).toContain('"isError":true');
  expect(unsent.heldBytes).toBe(0);
});

/** A reporter sending into `sent`, following one session whose events the test pushes. */
function reporting(intervalMs: number) {
  steppable();
  const sent: string[] = [];
  const reporter = new ProgressReporter(async (_, message) => {
    sent.push(message);
  }, intervalMs);
  closing.push(() => reporter.stop());
  const pushed: SessionEvent[] = [];
  let wake: (() => void) | undefined;
  const events = (async function* () {
    for (;;) {
      const event = pushed.shift();
      if (event !== undefined) yield event;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  })();
  reporter.watch({ id: 's1', events } as unknown as SessionHandle);
  const push = async (event: Record<string, unknown>) => {
    pushed.push({ sessionId: 's1', at: 0, ...event } as unknown as SessionEvent);
    wake?.();
    await sleep(0);
  };
  return { sent, push };
}

it('sends heartbeats at their interval when the wall clock is set back an hour', async () => {
  const { sent, push } = reporting(300);
  await push({ type: 'session.started', attempt: 1 });
  expect(sent).toEqual(['running (attempt 1), 0 chars so far']);
  wall.stepMs = -HOUR;
  // Heartbeats at 300 and 600 ms; on the wall clock the next was an hour and 300 ms away.
  await sleep(750);
  expect(sent.length).toBeGreaterThanOrEqual(2);
});

it('throttles streamed counts to one a second whichever way the wall clock is set', async () => {
  const { sent, push } = reporting(10_000);
  await push({ type: 'session.started', attempt: 1 });
  wall.stepMs = HOUR;
  // Within the second since the last notification: not sent, though the wall clock read an hour on.
  await push({ type: 'session.delta', chars: 5 });
  expect(sent).toHaveLength(1);
  wall.stepMs = -HOUR;
  await sleep(1_050);
  // A second on: sent, though the wall clock reads an hour before the last notification.
  await push({ type: 'session.delta', chars: 9 });
  expect(sent).toEqual(['running (attempt 1), 0 chars so far', 'running (attempt 1), 9 chars so far']);
});

it('waits `flushMs` for tool results to be written at a stop, whichever way the wall clock is set meanwhile', async () => {
  steppable();
  for (const step of [HOUR, -HOUR]) {
    const runtime = createRuntime({ providers: [], defaults: { model: 'm' } });
    const mcp = createMcpContext({ runtime });
    // A call whose handler never hands back: the flush waits it out.
    mcp.calls.track('s1', 1, new AbortController().signal);
    const began = performance.now();
    const stepping = setTimeout(() => {
      wall.stepMs = step;
    }, 100);
    const stopped = gracefulStop(mcp, { deadlineMs: 0, flushMs: 400, closeTransports: async () => {} });
    const result = await Promise.race([stopped, sleep(5_000).then(() => 'late' as const)]);
    clearTimeout(stepping);
    wall.stepMs = 0;
    expect(result, `stepped ${step}`).not.toBe('late');
    expect(performance.now() - began, `stepped ${step}`).toBeGreaterThanOrEqual(395);
  }
});

it('keeps a conversation in memory for its TTL whichever way the wall clock is set', async () => {
  steppable();
  const store = new MemoryConversationStore({ ttlMs: 300 });
  closing.push(() => store.close());
  const id = await store.save([{ role: 'user', content: 'hello' }]);
  wall.stepMs = HOUR;
  expect(await store.get(id)).toHaveLength(1);
  wall.stepMs = -HOUR;
  await sleep(350);
  expect(await store.get(id)).toBeUndefined();
});

it('remembers a cancel for a call not started yet when the wall clock is set forward an hour', () => {
  steppable();
  const calls = new CallRegistry();
  calls.abort('s1', 7, 'the client cancelled');
  wall.stepMs = HOUR;
  const { signal } = calls.track('s1', 7, new AbortController().signal);
  expect(signal.reason).toBe('the client cancelled');
});
