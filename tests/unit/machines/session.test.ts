import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  backoffDelayMs,
  leafState,
  nextWakeAt,
  type SessionMachineEvent,
  sessionMachine,
} from '../../../machines/session.js';
import { AUTH_FAILED, INPUT, RATE_LIMITED, UNAVAILABLE } from './fixtures.js';

type Snapshot = ReturnType<typeof initialTransition<typeof sessionMachine>>[0];

function start(input = INPUT): Snapshot {
  return initialTransition(sessionMachine, input)[0];
}

/** Applies events in order; returns the last snapshot and every action type run on the way. */
function run(
  snapshot: Snapshot,
  ...events: SessionMachineEvent[]
): { snapshot: Snapshot; actions: string[] } {
  const actions: string[] = [];
  let current = snapshot;
  for (const event of events) {
    const [next, executed] = transition(sessionMachine, current, event);
    current = next;
    for (const action of executed) actions.push(action.type);
  }
  return { snapshot: current, actions };
}

const admit = (now = 1100): SessionMachineEvent => ({ type: 'session.admit', now });
const done = (now = 1200): SessionMachineEvent => ({ type: 'provider.done', now, output: { content: 'hi' } });
const tick = (now: number): SessionMachineEvent => ({ type: 'session.tick', now });
const fail = (error = UNAVAILABLE, now = 1200, random = 0.5): SessionMachineEvent => ({
  type: 'provider.error',
  now,
  error,
  random,
});
const chunk = (now: number, chars = 5): SessionMachineEvent => ({
  type: 'provider.chunk',
  now,
  chars,
  delta: {},
});
const leaf = (s: Snapshot) => leafState(s.value);

describe('session machine', () => {
  it('starts queued with every deadline absolute and nothing started', () => {
    const s = start();
    expect(leaf(s)).toBe('queued');
    expect(s.context.attempts).toBe(0);
    expect(nextWakeAt('queued', s.context)).toBe(INPUT.queueDeadlineAt);
  });

  it('admission starts one attempt and the provider call, with a run deadline from admission', () => {
    const { snapshot, actions } = run(start(), admit(1100));
    expect(leaf(snapshot)).toBe('calling');
    expect(snapshot.context.startedAt).toBe(1100);
    expect(snapshot.context.runDeadlineAt).toBe(1100 + INPUT.timeoutMs);
    expect(snapshot.context.attempts).toBe(1);
    expect(actions).toContain('startProviderCall');
    expect(actions).toContain('notifyStarted');
  });

  it('ends done with the output, aborting the call on the way out', () => {
    const { snapshot, actions } = run(start(), admit(), done(1300));
    expect(snapshot.status).toBe('done');
    expect(leaf(snapshot)).toBe('done');
    expect(snapshot.context.output).toEqual({ content: 'hi' });
    expect(snapshot.context.endedAt).toBe(1300);
    expect(actions.filter((a) => a === 'abortProviderCall')).toHaveLength(1);
  });

  it('backs off after a retryable error, honouring the retry-after hint, then tries again', () => {
    const after = run(start(), admit(1100), fail(RATE_LIMITED, 1200, 0));
    expect(leaf(after.snapshot)).toBe('backingOff');
    // Jitter drew 0, so the provider's 300 ms hint decides.
    expect(after.snapshot.context.retryAt).toBe(1500);
    expect(after.actions).toContain('notifyRetry');
    expect(leaf(run(after.snapshot, tick(1499)).snapshot)).toBe('backingOff');
    const retried = run(after.snapshot, tick(1500)).snapshot;
    expect(leaf(retried)).toBe('calling');
    expect(retried.context.attempts).toBe(2);
  });

  it('backoff grows exponentially with full jitter up to its ceiling', () => {
    const ctx = start().context;
    expect(backoffDelayMs({ ...ctx, attempts: 1 }, UNAVAILABLE, 0.999)).toBe(99);
    expect(backoffDelayMs({ ...ctx, attempts: 3 }, UNAVAILABLE, 0.999)).toBe(399);
    expect(backoffDelayMs({ ...ctx, attempts: 9 }, UNAVAILABLE, 0.999)).toBe(999);
    expect(backoffDelayMs({ ...ctx, attempts: 9 }, UNAVAILABLE, 0)).toBe(0);
  });

  it('fails instead of retrying past the run deadline', () => {
    const short = { ...INPUT, timeoutMs: 350 };
    // Admitted at 1100, deadline 1450; retry-after 300 from 1200 would land at 1500.
    const { snapshot } = run(start(short), admit(1100), fail(RATE_LIMITED, 1200, 0));
    expect(snapshot.status).toBe('done');
    expect(leaf(snapshot)).toBe('failed');
    expect(snapshot.context.error?.code).toBe('RATE_LIMITED');
  });

  it('fails after maxAttempts, counting each attempt', () => {
    let s = run(start(), admit(1100)).snapshot;
    let now = 1100;
    for (let attempt = 1; attempt < INPUT.maxAttempts; attempt++) {
      now += 10;
      s = run(s, fail(UNAVAILABLE, now, 0)).snapshot;
      expect(leaf(s)).toBe('backingOff');
      s = run(s, tick(s.context.retryAt!)).snapshot;
      now = s.context.retryAt ?? now;
    }
    expect(s.context.attempts).toBe(INPUT.maxAttempts);
    s = run(s, fail(UNAVAILABLE, now + 10, 0)).snapshot;
    expect(leaf(s)).toBe('failed');
    expect(s.context.attempts).toBe(INPUT.maxAttempts);
  });

  it('does not retry an error that is not retryable', () => {
    const { snapshot } = run(start(), admit(), fail(AUTH_FAILED));
    expect(leaf(snapshot)).toBe('failed');
    expect(snapshot.context.attempts).toBe(1);
    expect(snapshot.context.error).toEqual(AUTH_FAILED);
  });

  it('a call that ended on its idle bound (a whole answer that stalled) times the session out, unretried', () => {
    const stalled = {
      family: 'runtime' as const,
      code: 'TIMED_OUT' as const,
      message: 'local chat completion: no byte of it came for 500 ms',
      retryable: false,
      timeout: 'idle' as const,
    };
    const { snapshot, actions } = run(start(), admit(), fail(stalled, 1700));
    expect(leaf(snapshot)).toBe('timedOut');
    expect(snapshot.context).toMatchObject({ attempts: 1, error: stalled, endedAt: 1700 });
    expect(actions).not.toContain('notifyRetry');
  });

  it('does not retry once deltas reached observers', () => {
    const streaming = { ...INPUT, stream: true };
    const { snapshot } = run(start(streaming), admit(1100), chunk(1150), fail(UNAVAILABLE, 1160));
    expect(leaf(snapshot)).toBe('failed');
  });

  it('times out in the queue at its queue deadline, not before', () => {
    expect(leaf(run(start(), tick(1999)).snapshot)).toBe('queued');
    const { snapshot } = run(start(), tick(2000));
    expect(leaf(snapshot)).toBe('timedOut');
    expect(snapshot.context.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'queue' });
  });

  it('times out at the run deadline, aborting the call', () => {
    const running = run(start(), admit(1100)).snapshot;
    expect(leaf(run(running, tick(11_099)).snapshot)).toBe('calling');
    const { snapshot, actions } = run(running, tick(11_100));
    expect(leaf(snapshot)).toBe('timedOut');
    expect(snapshot.context.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'run' });
    expect(actions).toContain('abortProviderCall');
  });

  it('times out a stream that goes quiet for idleTimeoutMs; each delta moves the idle deadline', () => {
    const streaming = { ...INPUT, stream: true };
    const s = run(start(streaming), admit(1100), chunk(1400)).snapshot;
    expect(leaf(s)).toBe('streaming');
    expect(s.context.idleDeadlineAt).toBe(1900);
    expect(nextWakeAt('streaming', s.context)).toBe(1900);
    expect(leaf(run(s, tick(1899)).snapshot)).toBe('streaming');
    const { snapshot, actions } = run(s, tick(1900));
    expect(leaf(snapshot)).toBe('timedOut');
    expect(snapshot.context.error?.timeout).toBe('idle');
    expect(actions).toContain('abortProviderCall');
  });

  it('counts the wait for the first delta against the idle deadline', () => {
    const streaming = { ...INPUT, stream: true };
    const { snapshot } = run(start(streaming), admit(1100), tick(1600));
    expect(snapshot.context.error?.timeout).toBe('idle');
  });

  it('cancels from every non-final state, aborting a call in flight', () => {
    const cancel: SessionMachineEvent = { type: 'session.cancel', now: 1500, reason: 'user asked' };
    const fromQueued = run(start(), cancel);
    expect(leaf(fromQueued.snapshot)).toBe('cancelled');
    expect(fromQueued.actions).not.toContain('abortProviderCall');
    const fromCalling = run(start(), admit(), cancel);
    expect(leaf(fromCalling.snapshot)).toBe('cancelled');
    expect(fromCalling.actions).toContain('abortProviderCall');
    const fromBackoff = run(start(), admit(), fail(UNAVAILABLE, 1200, 0), cancel);
    expect(leaf(fromBackoff.snapshot)).toBe('cancelled');
    expect(fromBackoff.snapshot.context.error).toMatchObject({
      code: 'CANCELLED',
      message: 'Cancelled: user asked',
    });
  });

  it('records a shutdown cancellation with its own code', () => {
    const { snapshot } = run(start(), {
      type: 'session.cancel',
      now: 1500,
      reason: 'drain deadline',
      code: 'SHUTTING_DOWN',
    });
    expect(snapshot.context.error?.code).toBe('SHUTTING_DOWN');
  });

  it('ends exactly once: a final state ignores every later event', () => {
    const ended = run(start(), admit(), done()).snapshot;
    const later = run(ended, fail(UNAVAILABLE), tick(99_999), {
      type: 'session.cancel',
      now: 1,
      reason: 'x',
    });
    expect(later.snapshot.value).toBe('done');
    expect(later.snapshot.context).toEqual(ended.context);
    expect(later.actions).toEqual([]);
  });

  it('keeps its context serialisable: a snapshot survives JSON and restores to the same state', () => {
    const s = run(start(), admit(1100), fail(RATE_LIMITED, 1200, 0)).snapshot;
    const persisted = JSON.parse(JSON.stringify(sessionMachine.getPersistedSnapshot(s)));
    const restored = sessionMachine.resolveState(persisted);
    expect(leaf(restored)).toBe('backingOff');
    expect(restored.context).toEqual(s.context);
    expect(nextWakeAt('backingOff', restored.context)).toBe(s.context.retryAt);
  });
});
