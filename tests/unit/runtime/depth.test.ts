/**
 * Ending many sessions at once: a shutdown's cancellations and deadlines that fall together run in
 * slices that yield through the injected clock. These tests stop between slices (a manual clock
 * runs one timer at a time) and check what a caller sees: every session ends once, in order, and
 * the report names each one cancelled. Slice sizes come from `DEFAULT_SLICE`.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SLICE } from '../../../src/core/slices.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeEvent, SessionResult } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { ManualClock } from '../../support/manual-clock.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };
const flush = () => new Promise((resolve) => setImmediate(resolve));
/** More than one slice holds. */
const MANY = DEFAULT_SLICE.maxItems + 900;

function setup(maxConcurrent: number) {
  const clock = new ManualClock();
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { model: 'm' },
    limits: { maxConcurrent, maxQueued: 2 * MANY },
    random: () => 0,
  });
  const ended = new Map<string, number>();
  const endOrder: string[] = [];
  const supervisor: RuntimeEvent[] = [];
  runtime.subscribe((event) => {
    if (event.type === 'session.ended') {
      ended.set(event.sessionId, (ended.get(event.sessionId) ?? 0) + 1);
      endOrder.push(event.sessionId);
    } else if (event.type.startsWith('supervisor.')) supervisor.push(event);
  });
  return { clock, provider, runtime, ended, endOrder, supervisor };
}

describe('runtime at depth', () => {
  it('shuts down in slices: every session ends exactly once, and the report names each one cancelled', async () => {
    const { clock, provider, runtime, ended, endOrder, supervisor } = setup(3);
    const handles = Array.from({ length: MANY }, () => runtime.submit(ask));
    await flush();
    expect(provider.pending()).toHaveLength(3);
    let report: Awaited<ReturnType<typeof runtime.shutdown>> | undefined;
    void runtime.shutdown({ deadlineMs: 0 }).then((r) => {
      report = r;
    });
    clock.step(); // the drain deadline: the first slice of cancellations
    await flush();
    expect(ended.size).toBe(DEFAULT_SLICE.maxItems);
    expect(report).toBeUndefined();
    // Sessions are still live between slices: the runtime says so, and still refuses new work.
    expect(runtime.status().state).toBe('draining');
    expect(() => runtime.submit(ask)).toThrow(expect.objectContaining({ code: 'SHUTTING_DOWN' }));
    expect(supervisor.map((e) => e.type)).toEqual(['supervisor.draining']);
    // A running session answers between two slices: it ends on its own, not cancelled.
    const running = handles.slice(0, 3);
    provider.pending()[0]!.settle('ok');
    await flush();
    clock.runDue();
    await flush();
    expect(report).toBeDefined();
    const results = await Promise.all(handles.map((h) => h.result));
    expect([...ended.values()].every((n) => n === 1)).toBe(true);
    expect(ended.size).toBe(MANY);
    expect(results[0]!.metadata.state).toBe('done');
    const cancelledIds = handles
      .filter((_h, i) => results[i]!.metadata.state === 'cancelled')
      .map((h) => h.id);
    expect(cancelledIds).toHaveLength(MANY - 1);
    expect(
      results
        .filter((r): r is Extract<SessionResult, { ok: false }> => !r.ok)
        .every((r) => r.error.code === 'SHUTTING_DOWN'),
    ).toBe(true);
    // Queued first, in submission order, then the running ones still running.
    const queuedIds = handles.slice(3).map((h) => h.id);
    expect(report!.cancelled).toEqual([...queuedIds, ...running.slice(1).map((h) => h.id)]);
    expect(endOrder.slice(0, DEFAULT_SLICE.maxItems)).toEqual(queuedIds.slice(0, DEFAULT_SLICE.maxItems));
    // Only the session that answered between two slices ended on its own.
    expect(report!.finished).toBe(1);
    expect(runtime.status().state).toBe('stopped');
    expect(supervisor.at(-1)).toMatchObject({ type: 'supervisor.stopped', cancelled: report!.cancelled });
    expect(provider.calls.every((c) => c.settled || c.signal.aborted)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('times out sessions whose queue deadlines fall together in slices, in deadline order, each once', async () => {
    const { clock, runtime, ended, endOrder } = setup(1);
    const blocker = runtime.submit(ask, { timeoutMs: 60_000 });
    const early = Array.from({ length: 5 }, () => runtime.submit(ask, { queueTimeoutMs: 500 }));
    const together = Array.from({ length: MANY }, () => runtime.submit(ask, { queueTimeoutMs: 1000 }));
    const late = Array.from({ length: 5 }, () => runtime.submit(ask, { queueTimeoutMs: 1500 }));
    clock.advance(500);
    clock.step();
    expect(endOrder).toHaveLength(5);
    expect(new Set(endOrder)).toEqual(new Set(early.map((h) => h.id)));
    clock.advance(500);
    clock.step();
    // One slice, then the loop is free: the rest wait for the next turn.
    expect(endOrder).toHaveLength(5 + DEFAULT_SLICE.maxItems);
    clock.runDue();
    expect(endOrder).toHaveLength(5 + MANY);
    expect(new Set(endOrder.slice(5))).toEqual(new Set(together.map((h) => h.id)));
    expect(runtime.status().queued).toBe(5);
    clock.advance(500);
    clock.runDue();
    expect(new Set(endOrder.slice(5 + MANY))).toEqual(new Set(late.map((h) => h.id)));
    const results = await Promise.all([...early, ...together, ...late].map((h) => h.result));
    expect(
      results.every((r) => !r.ok && r.error.code === 'TIMED_OUT' && r.metadata.state === 'timedOut'),
    ).toBe(true);
    expect([...ended.values()].every((n) => n === 1)).toBe(true);
    expect(runtime.status()).toMatchObject({ queued: 0, running: 1 });
    blocker.cancel();
    await blocker.result;
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('cancelling every handle in submission order starts no provider call for the queued ones', async () => {
    const { provider, runtime } = setup(2);
    const handles = Array.from({ length: 50 }, () => runtime.submit(ask));
    for (const handle of handles) handle.cancel();
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.every((r) => r.metadata.state === 'cancelled')).toBe(true);
    // Only the two admitted at submission ever reached the provider.
    expect(provider.calls).toHaveLength(2);
    expect(runtime.status()).toMatchObject({ queued: 0, running: 0 });
    // A slot freed outside a burst is still filled: the next session is admitted.
    const a = runtime.submit(ask);
    const b = runtime.submit(ask);
    const c = runtime.submit(ask);
    a.cancel();
    await flush();
    expect(provider.pending()).toHaveLength(2);
    for (const call of provider.pending()) call.settle('ok');
    expect((await b.result).ok && (await c.result).ok).toBe(true);
  });
});
