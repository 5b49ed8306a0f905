/**
 * The runtime's lifecycle on a manual clock: `accepting → draining → stopped`, the drain deadline
 * and its cancellations (at once or in slices), and the shutdown report: which sessions finished on
 * their own and which were cancelled, delivered once, after the runtime released what it holds.
 */
import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleHooks } from '../../../src/runtime/lifecycle.js';
import type { ShutdownReport, SupervisorEvent } from '../../../src/runtime/types.js';
import { ManualClock } from '../../support/manual-clock.js';

function world(overrides: Partial<LifecycleHooks> = {}) {
  const clock = new ManualClock();
  clock.time = 1000;
  const broadcasts: SupervisorEvent[] = [];
  const calls = { draining: 0, stopped: 0, cancelRemaining: 0 };
  const state = { live: 0, toCancel: [] as string[] };
  const lifecycle = new Lifecycle({
    clock,
    broadcast: (event) => broadcasts.push(event),
    liveCount: () => state.live,
    cancelRemaining: () => {
      calls.cancelRemaining++;
      const ids = state.toCancel;
      state.live = 0;
      return ids;
    },
    draining: () => {
      calls.draining++;
    },
    stopped: () => {
      calls.stopped++;
    },
    ...overrides,
  });
  let report: ShutdownReport | undefined;
  const shutdown = (deadlineMs: number) => {
    const promise = lifecycle.shutdown(deadlineMs);
    void promise.then((r) => {
      report = r;
    });
    return promise;
  };
  return {
    clock,
    broadcasts,
    calls,
    state,
    lifecycle,
    shutdown,
    get report() {
      return report;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Lifecycle', () => {
  it('accepts until shut down; with nothing live it stops at once and reports nothing', async () => {
    const w = world();
    expect(w.lifecycle.state).toBe('accepting');
    // Sessions that end while accepting are not part of any shutdown report.
    w.lifecycle.sessionEnded();
    w.lifecycle.workEnded();
    expect(w.lifecycle.state).toBe('accepting');
    expect(await w.shutdown(500)).toEqual({ finished: 0, cancelled: [] });
    expect(w.lifecycle.state).toBe('stopped');
    expect(w.broadcasts).toEqual([
      { type: 'supervisor.draining', at: 1000, deadlineAt: 1500 },
      { type: 'supervisor.stopped', at: 1000, cancelled: [] },
    ]);
    expect(w.calls).toEqual({ draining: 1, stopped: 1, cancelRemaining: 0 });
    expect(w.clock.pending).toBe(0);
  });

  it('gives every caller of shutdown the one report; a later deadline changes nothing', async () => {
    const w = world();
    w.state.live = 1;
    const first = w.shutdown(500);
    w.clock.advance(100);
    const second = w.lifecycle.shutdown(50);
    expect(second).toBe(first);
    expect(w.broadcasts).toHaveLength(1);
    w.clock.advance(50);
    w.clock.runDue();
    expect(w.lifecycle.state).toBe('draining');
  });

  it('drains: stops when the last session ends before the deadline, counting those that finished', async () => {
    const w = world();
    w.state.live = 2;
    void w.shutdown(1000);
    expect(w.lifecycle.state).toBe('draining');
    expect(w.calls.draining).toBe(1);
    expect(w.clock.pending).toBe(1);
    w.clock.advance(300);
    w.state.live = 1;
    w.lifecycle.sessionEnded();
    expect(w.lifecycle.state).toBe('draining');
    w.clock.advance(100);
    w.state.live = 0;
    w.lifecycle.sessionEnded();
    expect(w.lifecycle.state).toBe('stopped');
    // The drain timer is released with everything else.
    expect(w.clock.pending).toBe(0);
    await settle();
    expect(w.report).toEqual({ finished: 2, cancelled: [] });
    expect(w.broadcasts[1]).toEqual({ type: 'supervisor.stopped', at: 1400, cancelled: [] });
    expect(w.calls.cancelRemaining).toBe(0);
  });

  it('stops when the last piece of uncounted work ends, counting no session for it', async () => {
    const w = world();
    w.state.live = 1;
    void w.shutdown(1000);
    w.lifecycle.workEnded();
    expect(w.lifecycle.state).toBe('draining');
    w.state.live = 0;
    w.lifecycle.workEnded();
    expect(w.lifecycle.state).toBe('stopped');
    await settle();
    expect(w.report).toEqual({ finished: 0, cancelled: [] });
  });

  it.each([
    [Number.NaN, '`NaN` (number)'],
    [-1, '`-1` (number)'],
    ['100', '`"100"` (string)'],
  ])('refuses a drain deadline of %o, and stays accepting', async (deadlineMs, got) => {
    // Before: NaN never cancelled what was left; '100' re-armed a 1 ms timer for ever.
    const w = world();
    w.state.live = 1;
    await expect(w.lifecycle.shutdown(deadlineMs as number)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: `Expected shutdown's \`deadlineMs\` to be a number of ms from 0 up (Infinity: no deadline), got ${got}`,
    });
    expect(w.lifecycle.state).toBe('accepting');
    expect(w.clock.pending).toBe(0);
  });

  it('takes Infinity as no deadline, and reaches a far one in timer-sized steps', async () => {
    const w = world();
    w.state.live = 1;
    void w.shutdown(Number.POSITIVE_INFINITY);
    expect(w.lifecycle.state).toBe('draining');
    expect(w.clock.pending).toBe(0);
    w.state.live = 0;
    w.lifecycle.sessionEnded();
    await settle();
    expect(w.report).toEqual({ finished: 1, cancelled: [] });

    // Node fires a timer over 2^31 - 1 ms at once: a 30-day deadline was a 1 ms re-arm loop.
    const far = world();
    far.state.live = 1;
    const asked: number[] = [];
    const set = far.clock.setTimeout.bind(far.clock);
    far.clock.setTimeout = (fn, ms) => {
      asked.push(ms);
      return set(fn, ms);
    };
    void far.shutdown(30 * 86_400_000);
    expect(asked).toEqual([2_147_483_647]);
    far.clock.advance(2_147_483_647);
    far.clock.runDue();
    expect(far.lifecycle.state).toBe('draining');
    expect(asked[1]).toBe(30 * 86_400_000 - 2_147_483_647);
  });

  it('cancels what is left at the drain deadline, and reports it', async () => {
    const w = world();
    w.state.live = 3;
    w.state.toCancel = ['b', 'c'];
    void w.shutdown(1000);
    w.state.live = 2;
    w.lifecycle.sessionEnded();
    w.clock.advance(999);
    w.clock.runDue();
    expect(w.lifecycle.state).toBe('draining');
    expect(w.calls.cancelRemaining).toBe(0);
    w.clock.advance(1);
    w.clock.runDue();
    expect(w.calls.cancelRemaining).toBe(1);
    expect(w.lifecycle.state).toBe('stopped');
    await settle();
    expect(w.report).toEqual({ finished: 1, cancelled: ['b', 'c'] });
    expect(w.broadcasts.at(-1)).toEqual({ type: 'supervisor.stopped', at: 2000, cancelled: ['b', 'c'] });
  });

  it('cancels at the drain deadline even when its timer fires before the clock reads it', async () => {
    // Node's timers keep their own time: a 200 ms timer can run when Date.now() says 199 ms passed.
    // Before, the deadline was then not passed for the machine and no timer came again: the drain
    // waited for sessions that never end (seen under load in CI: a 5 s call ran to its end).
    const w = world();
    const early = w.clock.setTimeout.bind(w.clock);
    w.clock.setTimeout = (fn, ms) => early(fn, Math.max(1, ms - 1));
    w.state.live = 1;
    w.state.toCancel = ['a'];
    void w.shutdown(200);
    w.clock.advance(199);
    w.clock.runDue();
    expect(w.calls.cancelRemaining).toBe(0);
    expect(w.lifecycle.state).toBe('draining');
    w.clock.advance(1);
    w.clock.runDue();
    expect(w.calls.cancelRemaining).toBe(1);
    await settle();
    expect(w.report).toEqual({ finished: 0, cancelled: ['a'] });
    expect(w.broadcasts.at(-1)).toEqual({ type: 'supervisor.stopped', at: 1200, cancelled: ['a'] });
  });

  it('counts a session that ended on its own while the cancellations ran as finished', async () => {
    let lifecycle: Lifecycle | undefined;
    const w = world({
      cancelRemaining: () => {
        // Three end in the cancellation pass: two by the cancel, one on its own just before.
        lifecycle?.sessionEnded();
        lifecycle?.sessionEnded();
        lifecycle?.sessionEnded();
        w.state.live = 0;
        return ['b', 'c'];
      },
    });
    lifecycle = w.lifecycle;
    w.state.live = 3;
    void w.shutdown(100);
    w.clock.advance(100);
    w.clock.runDue();
    await settle();
    expect(w.report).toEqual({ finished: 1, cancelled: ['b', 'c'] });
  });

  it('stays draining while cancellations run in slices, and reports when the last slice is done', async () => {
    let finish: ((ids: string[]) => void) | undefined;
    const w = world({
      cancelRemaining: (done) => {
        finish = done;
        return undefined;
      },
    });
    w.state.live = 2;
    void w.shutdown(100);
    w.clock.advance(100);
    w.clock.runDue();
    expect(w.lifecycle.state).toBe('draining');
    expect(w.calls.stopped).toBe(0);
    await settle();
    expect(w.report).toBeUndefined();
    w.clock.advance(20);
    finish?.(['a', 'b']);
    expect(w.lifecycle.state).toBe('stopped');
    expect(w.calls.stopped).toBe(1);
    await settle();
    expect(w.report).toEqual({ finished: 0, cancelled: ['a', 'b'] });
    expect(w.broadcasts.at(-1)).toEqual({ type: 'supervisor.stopped', at: 1120, cancelled: ['a', 'b'] });
  });

  it('reports cancellations done in slices that all ran at once', async () => {
    const w = world({
      cancelRemaining: (done) => {
        done(['a']);
        return undefined;
      },
    });
    w.state.live = 1;
    void w.shutdown(100);
    w.clock.advance(100);
    w.clock.runDue();
    expect(w.lifecycle.state).toBe('stopped');
    await settle();
    expect(w.report).toEqual({ finished: 0, cancelled: ['a'] });
    // Stopped once: one release, one report.
    expect(w.calls.stopped).toBe(1);
    expect(w.broadcasts.filter((e) => e.type === 'supervisor.stopped')).toHaveLength(1);
  });

  it('waits for the runtime to release what it holds before it reports, even if that fails', async () => {
    let release: (() => void) | undefined;
    const w = world({
      stopped: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    void w.shutdown(100);
    await settle();
    expect(w.report).toBeUndefined();
    expect(w.broadcasts.map((e) => e.type)).toEqual(['supervisor.draining']);
    w.clock.advance(5);
    release?.();
    await settle();
    expect(w.report).toEqual({ finished: 0, cancelled: [] });
    expect(w.broadcasts.at(-1)).toEqual({ type: 'supervisor.stopped', at: 1005, cancelled: [] });

    const errors: unknown[] = [];
    const broken = new Error('the connection would not close');
    const failing = world({ stopped: () => Promise.reject(broken), onError: (e) => errors.push(e) });
    await failing.shutdown(100);
    expect(errors).toEqual([broken]);
    expect(failing.report).toEqual({ finished: 0, cancelled: [] });
    expect(failing.broadcasts.map((e) => e.type)).toEqual(['supervisor.draining', 'supervisor.stopped']);
  });

  it('works without the optional hooks', async () => {
    const clock = new ManualClock();
    const lifecycle = new Lifecycle({
      clock,
      broadcast: () => {},
      liveCount: () => 0,
      cancelRemaining: () => [],
      stopped: () => Promise.reject(new Error('x')),
    });
    expect(await lifecycle.shutdown(0)).toEqual({ finished: 0, cancelled: [] });
  });
});
