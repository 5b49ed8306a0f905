/**
 * The dashboard's live counts per state follow the session machine's leaves, the fallback hop
 * included: a session between two targets is counted in `fallingBack`, then `calling` again.
 */
import { describe, expect, it, vi } from 'vitest';
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

describe('RuntimeMonitor latency samples', () => {
  const ended = (i: number, state: string, runMs: number) => ({
    type: 'session.ended',
    sessionId: `s${i}`,
    result: { ok: state === 'done', metadata: { state, runMs, queuedMs: i } },
  });

  it('keeps at most samplesPerBucket queue-wait samples, also of sessions that never ran', () => {
    const { runtime, emit } = fakeRuntime();
    Object.assign(runtime, { status: () => ({}), sessions: () => [] });
    const monitor = new RuntimeMonitor(runtime, { now: () => 5000, samplesPerBucket: 5 });
    // Twenty sessions that ended in the queue (runMs 0: no run sample), queue waits 1..20 ms.
    for (let i = 1; i <= 20; i++) emit(ended(i, 'cancelled', 0));
    const last = monitor.snapshot().series.at(-1)!;
    expect(last.ended).toBe(20);
    // Every end but `done` counts as failed, cancelled ones too.
    expect(last.failed).toBe(20);
    // The current bucket (0 to 10 s) has run 5 s: its rate is over those 5 s, not the whole 10.
    expect(last.at).toBe(0);
    expect(last.perSec).toBe(4);
    // The first five samples (1..5 ms) are kept: their median is 3, not the 10 of all twenty.
    expect(last.queueP50Ms).toBe(3);
    expect(last.runP50Ms).toBeNull();
    monitor.close();
  });

  it('keeps at most samplesPerBucket run samples', () => {
    const { runtime, emit } = fakeRuntime();
    Object.assign(runtime, { status: () => ({}), sessions: () => [] });
    const monitor = new RuntimeMonitor(runtime, { now: () => 5000, samplesPerBucket: 5 });
    for (let i = 1; i <= 20; i++) emit(ended(i, 'done', i * 10));
    const last = monitor.snapshot().series.at(-1)!;
    expect(last.runP95Ms).toBe(50);
    expect(last.queueP50Ms).toBe(3);
    expect(last.failed).toBe(0);
    monitor.close();
  });
});

describe('RuntimeMonitor series cost', () => {
  it('sorts a bucket again only when a session ended in it since the last snapshot', () => {
    const { runtime, emit } = fakeRuntime();
    Object.assign(runtime, { status: () => ({}), sessions: () => [] });
    let now = 0;
    const monitor = new RuntimeMonitor(runtime, { now: () => now, samplesPerBucket: 500 });
    const end = (runMs: number) =>
      emit({
        type: 'session.ended',
        sessionId: 's',
        result: { ok: true, metadata: { state: 'done', runMs, queuedMs: 1 } },
      });
    // Thirty full buckets: the whole five-minute window.
    for (let b = 0; b < 30; b++) {
      now = b * 10_000;
      for (let i = 1; i <= 500; i++) end(i);
    }
    now = 299_999;
    const first = monitor.snapshot().series;
    expect(first.every((p) => p.runP50Ms === 250 && p.runP95Ms === 475 && p.queueP50Ms === 1)).toBe(true);
    const sort = vi.spyOn(Array.prototype, 'sort');
    try {
      expect(monitor.snapshot().series).toEqual(first);
      expect(sort).not.toHaveBeenCalled();
      // One more session in the current bucket: that bucket alone is sorted again.
      end(1000);
      expect(monitor.snapshot().series.at(-1)!.ended).toBe(501);
      expect(sort.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      monitor.close();
      sort.mockRestore();
    }
  });

  it('shows a change in a bucket after it was read', () => {
    const { runtime, emit } = fakeRuntime();
    Object.assign(runtime, { status: () => ({}), sessions: () => [] });
    const monitor = new RuntimeMonitor(runtime, { now: () => 5000 });
    const end = (runMs: number) =>
      emit({
        type: 'session.ended',
        sessionId: 's',
        result: { ok: true, metadata: { state: 'done', runMs, queuedMs: runMs } },
      });
    end(10);
    expect(monitor.snapshot().series.at(-1)).toMatchObject({ runP50Ms: 10, runP95Ms: 10, queueP50Ms: 10 });
    end(30);
    end(50);
    expect(monitor.snapshot().series.at(-1)).toMatchObject({ runP50Ms: 30, runP95Ms: 50, queueP50Ms: 30 });
    monitor.close();
  });
});

describe('RuntimeMonitor and ends it never heard', () => {
  function setup() {
    const { runtime, emit } = fakeRuntime();
    const known = new Map<string, { state: string }>();
    Object.assign(runtime, {
      status: () => ({}),
      sessions: () => [],
      session: (id: string) => known.get(id),
    });
    let now = 0;
    const monitor = new RuntimeMonitor(runtime, { now: () => now, bucketMs: 10_000 });
    return { emit, known, monitor, at: (t: number) => (now = t) };
  }
  const ended = (id: string, state: string) => ({
    type: 'session.ended',
    sessionId: id,
    result: { ok: state === 'done', metadata: { state, runMs: 5, queuedMs: 1 } },
  });

  it('drops live sessions the runtime no longer has, counting the ends it knows, once a bucket', () => {
    const { emit, known, monitor, at } = setup();
    for (const id of ['a', 'b', 'c']) {
      emit({ type: 'session.queued', sessionId: id });
      known.set(id, { state: 'queued' });
    }
    emit({ type: 'session.started', sessionId: 'a' });
    emit({ type: 'session.started', sessionId: 'b' });
    monitor.snapshot();
    expect(monitor.counts()).toMatchObject({ queued: 1, calling: 2 });
    // Their ends were published while the bus was cut: `a` is in the history, `b` is forgotten.
    known.set('a', { state: 'done' });
    known.delete('b');
    at(5000);
    expect(monitor.snapshot().counts).toMatchObject({ queued: 1, calling: 2, done: 0 });
    at(10_000);
    expect(monitor.snapshot().counts).toMatchObject({ queued: 1, calling: 0, done: 1 });
    // An end that comes late after all is not counted twice; one never reconciled still counts.
    emit(ended('a', 'done'));
    emit(ended('b', 'failed'));
    emit(ended('c', 'cancelled'));
    expect(monitor.counts()).toMatchObject({ queued: 0, calling: 0, done: 1, failed: 1, cancelled: 1 });
    monitor.close();
  });
});

describe('RuntimeMonitor and the owners of sessions', () => {
  it("shows an MCP session's owner as a digest, never its session id; a token's name as it is", () => {
    const { runtime } = fakeRuntime();
    const summary = (sessionId: string, owner: string) => ({ sessionId, state: 'queued', owner });
    const sid = '5f0c6a52-1d1e-4c8e-9a53-0b6f3f5d2e11';
    Object.assign(runtime, {
      status: () => ({ recent: [summary('r1', `mcp:${sid}`), summary('r2', 'alice')] }),
      sessions: () => [summary('l1', `mcp:${sid}`), summary('l2', 'bob')],
    });
    const snapshot = new RuntimeMonitor(runtime).snapshot();
    const owners = [...(snapshot.status.recent ?? []), ...snapshot.live].map((s) => s.owner);
    expect(owners[0]).toMatch(/^mcp:#[0-9a-f]{12}$/);
    expect(owners).toEqual([owners[0], 'alice', owners[0], 'bob']);
    expect(JSON.stringify(snapshot)).not.toContain(sid);
  });
});
