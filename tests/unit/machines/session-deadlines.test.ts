/**
 * The session machine's times and errors, stated one behaviour a test: which deadline wakes the
 * runtime first, what each timeout says, what a cancellation records, and that a deadline that is
 * not set (`null`) never passes. Driven with XState's pure `transition()`; no clock.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  leafState,
  nextWakeAt,
  type SessionContext,
  type SessionMachineEvent,
  sessionMachine,
} from '../../../machines/session.js';
import { INPUT, RATE_LIMITED, UNAVAILABLE } from './fixtures.js';

type Snapshot = ReturnType<typeof initialTransition<typeof sessionMachine>>[0];

const start = (input = INPUT): Snapshot => initialTransition(sessionMachine, input)[0];

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
const STREAMING = { ...INPUT, stream: true };

/** A context as a restored snapshot may carry it, with the given times. */
const context = (overrides: Partial<SessionContext>): SessionContext => ({
  ...start().context,
  ...overrides,
});

/** A snapshot in `state` with `overrides` in its context, as a backend restores one. */
function restored(value: unknown, overrides: Partial<SessionContext>, input = INPUT): Snapshot {
  const base = start(input);
  return sessionMachine.resolveState({ value, context: { ...base.context, ...overrides } } as never);
}

describe('nextWakeAt: the earliest time that can change a session', () => {
  it('wakes a queued session at its queue deadline', () => {
    expect(nextWakeAt('queued', context({}))).toBe(INPUT.queueDeadlineAt);
  });

  it('wakes a non-streaming call at its run deadline only', () => {
    const c = context({ runDeadlineAt: 5000, idleDeadlineAt: 3000 });
    expect(nextWakeAt('calling', c)).toBe(5000);
  });

  it('wakes a stream at whichever of its run and idle deadlines comes first', () => {
    const c = (run: number | null, idle: number | null) =>
      context({ input: STREAMING, runDeadlineAt: run, idleDeadlineAt: idle });
    expect(nextWakeAt('calling', c(5000, 3000))).toBe(3000);
    expect(nextWakeAt('streaming', c(5000, 3000))).toBe(3000);
    expect(nextWakeAt('streaming', c(3000, 5000))).toBe(3000);
    expect(nextWakeAt('streaming', c(4000, 4000))).toBe(4000);
  });

  it('wakes a backing-off session at whichever of its retry time and run deadline comes first', () => {
    expect(nextWakeAt('backingOff', context({ runDeadlineAt: 5000, retryAt: 1500 }))).toBe(1500);
    expect(nextWakeAt('backingOff', context({ runDeadlineAt: 1200, retryAt: 1500 }))).toBe(1200);
  });

  it('treats an unset time as none: the other one decides, and two unset mean never', () => {
    expect(nextWakeAt('backingOff', context({ runDeadlineAt: null, retryAt: 1500 }))).toBe(1500);
    expect(nextWakeAt('backingOff', context({ runDeadlineAt: 5000, retryAt: null }))).toBe(5000);
    expect(nextWakeAt('backingOff', context({ runDeadlineAt: null, retryAt: null }))).toBeNull();
  });

  it('never wakes an ended session', () => {
    const c = context({ runDeadlineAt: 5000, retryAt: 1500, idleDeadlineAt: 1400 });
    for (const state of ['done', 'failed', 'timedOut', 'cancelled'] as const) {
      expect(nextWakeAt(state, c)).toBeNull();
    }
  });

  it('matches what the machine sets on the way: admission, first delta, back-off', () => {
    const calling = run(start(STREAMING), admit(1100)).snapshot;
    expect(nextWakeAt(leafState(calling.value), calling.context)).toBe(1100 + INPUT.idleTimeoutMs);
    const backingOff = run(start(), admit(1100), fail(RATE_LIMITED, 1200, 0)).snapshot;
    expect(nextWakeAt(leafState(backingOff.value), backingOff.context)).toBe(1500);
  });
});

describe('leafState', () => {
  it('reads the leaf out of each shape of snapshot value', () => {
    expect(leafState('queued')).toBe('queued');
    expect(leafState({ running: 'backingOff' })).toBe('backingOff');
    expect(leafState({ running: { attempt: 'streaming' } })).toBe('streaming');
  });
});

describe('timeouts: each kind says which deadline passed and by how much', () => {
  it('a queue timeout names the queue wait', () => {
    const { snapshot } = run(start(), tick(2300));
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.error).toEqual({
      family: 'runtime',
      code: 'TIMED_OUT',
      retryable: false,
      timeout: 'queue',
      message: 'Expected the session to start within 1000 ms of queueing, it waited 1300 ms',
    });
    expect(snapshot.context.endedAt).toBe(2300);
  });

  it('a run timeout names the run time and the attempts made', () => {
    const once = run(start(), admit(1100), tick(11_100)).snapshot;
    expect(once.context.error).toEqual({
      family: 'runtime',
      code: 'TIMED_OUT',
      retryable: false,
      timeout: 'run',
      message: 'Expected the session to finish within 10000 ms of starting, it ran 10000 ms (1 attempt)',
    });
    const short = { ...INPUT, timeoutMs: 1000 };
    const twice = run(start(short), admit(1100), fail(UNAVAILABLE, 1200, 0), tick(1200), tick(2150));
    expect(twice.snapshot.context.error?.message).toBe(
      'Expected the session to finish within 1000 ms of starting, it ran 1050 ms (2 attempts)',
    );
  });

  it('a run timeout during back-off ends the session timed out, not retried', () => {
    const short = { ...INPUT, timeoutMs: 1000 };
    // Retry-after 300 ms from 1200 lands at 1500, before the deadline at 2100.
    const backingOff = run(start(short), admit(1100), fail(RATE_LIMITED, 1200, 0)).snapshot;
    const late = restored({ running: 'backingOff' }, { ...backingOff.context, retryAt: 2500 }, short);
    const { snapshot, actions } = run(late, tick(2100));
    expect(leafState(snapshot.value)).toBe('timedOut');
    expect(snapshot.context.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'run', retryable: false });
    expect(snapshot.context.error?.message).toContain('it ran 1000 ms (1 attempt)');
    expect(actions).not.toContain('startProviderCall');
  });

  it('an idle timeout names the idle limit', () => {
    const { snapshot } = run(start(STREAMING), admit(1100), chunk(1200), tick(1700));
    expect(snapshot.context.error).toEqual({
      family: 'runtime',
      code: 'TIMED_OUT',
      retryable: false,
      timeout: 'idle',
      stalled: 'stream',
      message: 'Expected a stream delta at least every 500 ms, none came for 500 ms',
    });
  });

  it('the run deadline wins over the idle deadline when both have passed', () => {
    const short = { ...STREAMING, timeoutMs: 400, idleTimeoutMs: 400 };
    const { snapshot } = run(start(short), admit(1100), tick(1600));
    expect(snapshot.context.error?.timeout).toBe('run');
  });
});

describe('deadlines that are not set never pass', () => {
  it('a running session without a run deadline does not time out on a tick', () => {
    const s = restored(
      { running: { attempt: 'calling' } },
      { attempts: 1, startedAt: 1100, runDeadlineAt: null },
    );
    const { snapshot } = run(s, tick(999_999));
    expect(leafState(snapshot.value)).toBe('calling');
  });

  it('a backing-off session without a retry time does not retry on a tick', () => {
    const s = restored(
      { running: 'backingOff' },
      { attempts: 1, startedAt: 1100, runDeadlineAt: 999_999_999, retryAt: null },
    );
    const { snapshot, actions } = run(s, tick(999_999));
    expect(leafState(snapshot.value)).toBe('backingOff');
    expect(actions).not.toContain('startProviderCall');
  });

  it('a session without a run deadline may retry at any time', () => {
    const s = restored(
      { running: { attempt: 'calling' } },
      { attempts: 1, startedAt: 1100, runDeadlineAt: null },
    );
    const { snapshot } = run(s, fail(UNAVAILABLE, 1200, 0));
    expect(leafState(snapshot.value)).toBe('backingOff');
  });
});

describe('retry decisions', () => {
  it('does not retry when the retry would land exactly on the run deadline', () => {
    const tight = { ...INPUT, timeoutMs: 400 };
    // Admitted at 1100, deadline 1500; retry-after 300 from 1200 lands at 1500.
    const { snapshot } = run(start(tight), admit(1100), fail(RATE_LIMITED, 1200, 0));
    expect(leafState(snapshot.value)).toBe('failed');
    expect(snapshot.context.error).toEqual(RATE_LIMITED);
  });

  it('retries when it lands one millisecond before the run deadline', () => {
    const tight = { ...INPUT, timeoutMs: 401 };
    const { snapshot } = run(start(tight), admit(1100), fail(RATE_LIMITED, 1200, 0));
    expect(leafState(snapshot.value)).toBe('backingOff');
    expect(snapshot.context.error).toEqual(RATE_LIMITED);
  });

  it('a new attempt starts clean: no retry time, no characters, a fresh idle deadline', () => {
    const backingOff = run(start(STREAMING), admit(1100), fail(RATE_LIMITED, 1200, 0)).snapshot;
    expect(backingOff.context.retryAt).toBe(1500);
    const { snapshot, actions } = run(backingOff, tick(1500));
    expect(leafState(snapshot.value)).toBe('calling');
    expect(snapshot.context.retryAt).toBeNull();
    expect(snapshot.context.chars).toBe(0);
    expect(snapshot.context.idleDeadlineAt).toBe(1500 + INPUT.idleTimeoutMs);
    expect(actions).toEqual(['notifyStarted', 'startProviderCall']);
  });

  it('a non-streaming attempt has no idle deadline', () => {
    expect(run(start(), admit(1100)).snapshot.context.idleDeadlineAt).toBeNull();
  });
});

describe('streams', () => {
  it('each delta records its characters, moves the idle deadline and reaches observers', () => {
    const first = run(start(STREAMING), admit(1100), chunk(1200, 3));
    expect(first.snapshot.context.chars).toBe(3);
    expect(first.actions).toContain('notifyDelta');
    const second = run(first.snapshot, chunk(1300, 8));
    expect(leafState(second.snapshot.value)).toBe('streaming');
    expect(second.snapshot.context.chars).toBe(8);
    expect(second.snapshot.context.idleDeadlineAt).toBe(1800);
    expect(second.actions).toEqual(['notifyDelta']);
  });

  it('an error after a delta ends the session failed with that error', () => {
    const { snapshot, actions } = run(start(STREAMING), admit(1100), chunk(1200), fail(UNAVAILABLE, 1300));
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.error).toEqual(UNAVAILABLE);
    expect(snapshot.context.endedAt).toBe(1300);
    expect(actions).toContain('abortProviderCall');
  });

  it('a stream can still finish done after deltas', () => {
    const done: SessionMachineEvent = { type: 'provider.done', now: 1400, output: { content: 'ab' } };
    const { snapshot } = run(start(STREAMING), admit(1100), chunk(1200), done);
    expect(leafState(snapshot.value)).toBe('done');
    expect(snapshot.context.output).toEqual({ content: 'ab' });
  });
});

describe('endings', () => {
  it('records the usage a provider reported, and null when it reported none', () => {
    const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3 };
    const withUsage = run(start(), admit(), {
      type: 'provider.done',
      now: 1200,
      output: { content: 'x' },
      usage,
    });
    expect(withUsage.snapshot.context.usage).toEqual(usage);
    const without = run(start(), admit(), { type: 'provider.done', now: 1200, output: { content: 'x' } });
    expect(without.snapshot.context.usage).toBeNull();
  });

  it('a cancelled session is final, not retryable, and keeps its reason', () => {
    const cancel: SessionMachineEvent = { type: 'session.cancel', now: 1500, reason: 'user asked' };
    for (const path of [[], [admit()], [admit(), fail(UNAVAILABLE, 1200, 0)]] as SessionMachineEvent[][]) {
      const { snapshot } = run(start(), ...path, cancel);
      expect(snapshot.status).toBe('done');
      expect(snapshot.context.endedAt).toBe(1500);
      expect(snapshot.context.error).toEqual({
        family: 'runtime',
        code: 'CANCELLED',
        message: 'Cancelled: user asked',
        retryable: false,
      });
    }
  });

  it('every ending is a final state with its end time', () => {
    const endings: [string, SessionMachineEvent[]][] = [
      ['done', [admit(), { type: 'provider.done', now: 1300, output: { content: '' } }]],
      ['failed', [admit(), fail({ ...UNAVAILABLE, retryable: false }, 1300)]],
      ['timedOut', [tick(2000)]],
      ['cancelled', [{ type: 'session.cancel', now: 1300, reason: 'x' }]],
    ];
    for (const [leaf, events] of endings) {
      const { snapshot } = run(start(), ...events);
      expect(leafState(snapshot.value)).toBe(leaf);
      expect(snapshot.status).toBe('done');
      expect(snapshot.context.endedAt).toBe(events.at(-1)!.now);
    }
  });
});
