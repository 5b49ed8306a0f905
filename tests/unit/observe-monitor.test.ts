/**
 * The dashboard's live counts per state follow the session machine's leaves, the fallback hop
 * included: a session between two targets is counted in `fallingBack`, then `calling` again.
 */
import { describe, expect, it } from 'vitest';
import { RuntimeMonitor } from '../../src/observe/monitor.js';
import type { Runtime, RuntimeEvent } from '../../src/runtime/types.js';

function fakeRuntime() {
  let listener: ((event: RuntimeEvent) => void) | undefined;
  const runtime = {
    subscribe(fn: (event: RuntimeEvent) => void) {
      listener = fn;
      return () => {
        listener = undefined;
      };
    },
  } as unknown as Runtime;
  const emit = (event: Record<string, unknown>) => listener?.({ at: 0, ...event } as unknown as RuntimeEvent);
  return { runtime, emit };
}

describe('RuntimeMonitor live counts', () => {
  it('counts a session falling back between targets, then calling its next one, then done', () => {
    const { runtime, emit } = fakeRuntime();
    const monitor = new RuntimeMonitor(runtime, { now: () => 0 });
    emit({ type: 'session.queued', sessionId: 's1' });
    emit({ type: 'session.started', sessionId: 's1' });
    expect(monitor.counts()).toMatchObject({ queued: 0, calling: 1, fallingBack: 0 });
    emit({ type: 'session.fallback', sessionId: 's1' });
    expect(monitor.counts()).toMatchObject({ calling: 0, fallingBack: 1, backingOff: 0 });
    emit({ type: 'session.started', sessionId: 's1' });
    expect(monitor.counts()).toMatchObject({ calling: 1, fallingBack: 0 });
    emit({
      type: 'session.ended',
      sessionId: 's1',
      result: { ok: true, metadata: { state: 'done', runMs: 5, queuedMs: 0 } },
    });
    expect(monitor.counts()).toMatchObject({ calling: 0, fallingBack: 0, done: 1 });
    monitor.close();
  });

  it('ends a session that was falling back without leaving a count behind', () => {
    const { runtime, emit } = fakeRuntime();
    const monitor = new RuntimeMonitor(runtime, { now: () => 0 });
    emit({ type: 'session.started', sessionId: 's2' });
    emit({ type: 'session.fallback', sessionId: 's2' });
    emit({
      type: 'session.ended',
      sessionId: 's2',
      result: { ok: false, metadata: { state: 'cancelled', runMs: 1, queuedMs: 0 } },
    });
    expect(monitor.counts()).toMatchObject({ fallingBack: 0, cancelled: 1 });
    monitor.close();
  });
});
