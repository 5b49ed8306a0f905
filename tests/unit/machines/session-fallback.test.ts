/**
 * The session machine's fallback chain, with XState's pure `transition()`: which errors move a
 * session on, that a delta pins it to its target, that the deadline bounds the route, and the
 * route the context keeps.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { RouteTargetData } from '../../../machines/routing.js';
import { finalRoute } from '../../../machines/routing.js';
import {
  leafState,
  nextWakeAt,
  type SessionInput,
  type SessionMachineEvent,
  sessionMachine,
} from '../../../machines/session.js';
import type { TroupeErrorData } from '../../../src/core/errors.js';
import { AUTH_FAILED, INPUT, RATE_LIMITED, UNAVAILABLE } from './fixtures.js';

type Snapshot = ReturnType<typeof initialTransition<typeof sessionMachine>>[0];

const target = (
  provider: string,
  model: string,
  contextWindow: number | null = null,
  fits = true,
): RouteTargetData => ({
  provider,
  model,
  contextWindow,
  fits,
});
const CHAIN = [target('kimi', 'k2'), target('glm', 'glm-4.6'), target('openai', 'gpt')];
const withChain = (targets: readonly RouteTargetData[], extra: Partial<SessionInput> = {}): SessionInput => ({
  ...INPUT,
  provider: targets.find((t) => t.fits)?.provider ?? 'kimi',
  targets,
  ...extra,
});
const error = (code: TroupeErrorData['code'], extra: Partial<TroupeErrorData> = {}): TroupeErrorData => ({
  family: 'provider',
  code,
  message: code,
  retryable: code === 'NETWORK' || code === 'PROVIDER_UNAVAILABLE',
  ...extra,
});

function run(
  input: SessionInput,
  ...events: SessionMachineEvent[]
): { snapshot: Snapshot; actions: string[] } {
  let current = initialTransition(sessionMachine, input)[0];
  const actions: string[] = [];
  for (const event of events) {
    const [next, executed] = transition(sessionMachine, current, event);
    current = next;
    for (const a of executed) actions.push(a.type);
  }
  return { snapshot: current, actions };
}
const admit: SessionMachineEvent = { type: 'session.admit', now: 1100 };
const fail = (e: TroupeErrorData, now = 1200): SessionMachineEvent => ({
  type: 'provider.error',
  now,
  error: e,
  random: 0.5,
});
const tick = (now: number): SessionMachineEvent => ({ type: 'session.tick', now });
const chunk = (now: number): SessionMachineEvent => ({ type: 'provider.chunk', now, chars: 3, delta: {} });
const done = (now: number): SessionMachineEvent => ({
  type: 'provider.done',
  now,
  output: { content: 'ok' },
});
const leaf = (s: Snapshot) => leafState(s.value);

describe('session machine: fallbacks', () => {
  it.each(['QUOTA_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'NETWORK'] as const)(
    '%s before any delta moves to the next target at once, and the next tick calls it',
    (code) => {
      const { snapshot, actions } = run(withChain(CHAIN), admit, fail(error(code), 1300));
      expect(leaf(snapshot)).toBe('fallingBack');
      expect(actions).toContain('abortProviderCall');
      expect(actions).toContain('notifyFallback');
      expect(snapshot.context.routing?.target).toBe(1);
      expect(nextWakeAt('fallingBack', snapshot.context)).toBe(1300);
      const after = run(withChain(CHAIN), admit, fail(error(code), 1300), tick(1300));
      expect(leaf(after.snapshot)).toBe('calling');
      expect(after.actions).toContain('startProviderCall');
      expect(after.snapshot.context.attempts).toBe(2);
      expect(after.snapshot.context.routing?.route).toEqual([
        { provider: 'kimi', model: 'k2', outcome: code, ms: 200 },
      ]);
    },
  );

  it("an error that is not a fallback's (AUTH_FAILED) fails on the spot; RATE_LIMITED retries the same target", () => {
    expect(leaf(run(withChain(CHAIN), admit, fail(AUTH_FAILED)).snapshot)).toBe('failed');
    const limited = run(withChain(CHAIN), admit, fail(RATE_LIMITED)).snapshot;
    expect(leaf(limited)).toBe('backingOff');
    expect(limited.context.routing?.target).toBe(0);
  });

  it('a RATE_LIMITED whose wait reaches past the run deadline (a cooldown too long) falls back', () => {
    const wait = error('RATE_LIMITED', { retryable: true, retryAfterMs: INPUT.timeoutMs });
    const { snapshot } = run(withChain(CHAIN), admit, fail(wait, 1200));
    expect(leaf(snapshot)).toBe('fallingBack');
  });

  it('a RATE_LIMITED on the last attempt a target has moves on to the next target, not to failed', () => {
    // maxAttempts 3: two 429s are retried on kimi, the third has no attempt left there.
    const events: SessionMachineEvent[] = [admit];
    let now = 1200;
    for (let i = 0; i < 3; i++) {
      events.push(fail(RATE_LIMITED, now));
      now += 1000;
      if (i < 2) events.push(tick(now));
    }
    const { snapshot } = run(withChain(CHAIN), ...events);
    expect(leaf(snapshot)).toBe('fallingBack');
    expect(snapshot.context.attempts).toBe(3);
    expect(snapshot.context.routing?.target).toBe(1);
    expect(snapshot.context.routing?.route).toEqual([
      { provider: 'kimi', model: 'k2', outcome: 'RATE_LIMITED', ms: 2100 },
    ]);
    // The next target gets its own attempts: its first 429 is retried there.
    const after = run(withChain(CHAIN), ...events, tick(now), fail(RATE_LIMITED, now + 10));
    expect(leaf(after.snapshot)).toBe('backingOff');
    expect(after.snapshot.context.routing?.target).toBe(1);
    // Without a chain, the same third 429 fails the session as before.
    expect(leaf(run({ ...INPUT }, ...events).snapshot)).toBe('failed');
  });

  it('a RATE_LIMITED whose backoff (no hint) would end past the run deadline moves on', () => {
    const noHint = error('RATE_LIMITED', { retryable: true });
    const input = withChain(CHAIN, { backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    // random 0.5 of 60 s: the retry would come 30 s later, past the 10 s deadline.
    const { snapshot } = run(input, admit, fail(noHint, 1200));
    expect(leaf(snapshot)).toBe('fallingBack');
    expect(snapshot.context.routing?.target).toBe(1);
    // One that fits the deadline is retried on the same target.
    const fits = run(withChain(CHAIN), admit, fail(noHint, 1200)).snapshot;
    expect(leaf(fits)).toBe('backingOff');
    expect(fits.context.routing?.target).toBe(0);
  });

  it('between attempts, a provider cooling down past the run deadline sends it to the target after', () => {
    const deadline = 1100 + INPUT.timeoutMs;
    const cooling = (now: number, until = deadline): SessionMachineEvent => ({
      type: 'session.reroute',
      now,
      error: error('RATE_LIMITED', { retryable: true, retryAfterMs: until - now }),
    });
    // A hop to glm meets glm cooling down: it goes on to openai, glm's turn 0 ms in the route.
    const hop = run(withChain(CHAIN), admit, fail(error('NETWORK'), 1300), cooling(1300));
    expect(leaf(hop.snapshot)).toBe('fallingBack');
    expect(hop.actions).toEqual(expect.arrayContaining(['notifyFallback']));
    expect(hop.snapshot.context.routing?.target).toBe(2);
    expect(hop.snapshot.context.routing?.route).toEqual([
      { provider: 'kimi', model: 'k2', outcome: 'NETWORK', ms: 200 },
      { provider: 'glm', model: 'glm-4.6', outcome: 'RATE_LIMITED', ms: 0 },
    ]);
    expect(nextWakeAt('fallingBack', hop.snapshot.context)).toBe(1300);
    // The move itself tells observers (`session.fallback`), from either state between attempts.
    const movedFrom = (...before: SessionMachineEvent[]) =>
      transition(sessionMachine, run(withChain(CHAIN), admit, ...before).snapshot, cooling(1300))[1].map(
        (a) => a.type,
      );
    expect(movedFrom(fail(error('NETWORK'), 1300))).toContain('notifyFallback');
    expect(movedFrom(fail(RATE_LIMITED, 1200))).toContain('notifyFallback');
    // A retry on kimi (its own 429, 300 ms) whose kimi then cools down past the deadline: glm.
    const retry = run(withChain(CHAIN), admit, fail(RATE_LIMITED, 1200), cooling(1250));
    expect(leaf(retry.snapshot)).toBe('fallingBack');
    expect(retry.snapshot.context.routing?.target).toBe(1);
    // A cooldown that ends before the deadline is waited out; the last target has nowhere to go.
    const short = run(withChain(CHAIN), admit, fail(RATE_LIMITED, 1200), cooling(1250, deadline - 1));
    expect(leaf(short.snapshot)).toBe('backingOff');
    const last = run(withChain(CHAIN), admit, fail(error('NETWORK'), 1300), cooling(1300), cooling(1300));
    expect(last.snapshot.context.routing?.target).toBe(2);
    expect(last.snapshot.context.routing?.route).toHaveLength(2);
    // Without a chain nothing moves.
    expect(leaf(run({ ...INPUT }, admit, fail(RATE_LIMITED, 1200), cooling(1250)).snapshot)).toBe(
      'backingOff',
    );
  });

  it('never falls back once a delta reached observers: the error fails the session', () => {
    const input = withChain(CHAIN, { stream: true });
    const { snapshot } = run(input, admit, chunk(1150), fail(error('NETWORK'), 1200));
    expect(leaf(snapshot)).toBe('failed');
    expect(snapshot.context.routing?.target).toBe(0);
  });

  it('without a target left, the usual retry rule applies', () => {
    const { snapshot } = run(
      withChain(CHAIN),
      admit,
      fail(error('NETWORK'), 1200),
      tick(1200),
      fail(error('NETWORK'), 1300),
      tick(1300),
      fail(error('NETWORK'), 1400),
    );
    expect(snapshot.context.routing?.target).toBe(2);
    // The last target gets its own retries (counted per target): it backs off instead of failing.
    expect(leaf(snapshot)).toBe('backingOff');
  });

  it('never hops at or past the run deadline', () => {
    const deadline = 1100 + INPUT.timeoutMs;
    const { snapshot } = run(withChain(CHAIN), admit, fail(error('QUOTA_EXHAUSTED'), deadline));
    expect(leaf(snapshot)).toBe('failed');
  });

  it('a stream with no delta within the idle timeout moves on; one with a delta times out', () => {
    const input = withChain(CHAIN, { stream: true });
    const idle = 1100 + INPUT.idleTimeoutMs;
    const { snapshot: moved, actions } = run(input, admit, tick(idle));
    expect(leaf(moved)).toBe('fallingBack');
    expect(actions).toContain('notifyFallback');
    expect(moved.context.routing?.route[0]?.outcome).toBe('TIMED_OUT');
    // The error it leaves is the idle timeout's, which the fallback event reports.
    expect(moved.context.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'idle' });
    expect(moved.context.error?.message).toMatch(/stream delta at least every 500 ms/);
    const started = run(input, admit, chunk(1150), tick(1150 + INPUT.idleTimeoutMs)).snapshot;
    expect(leaf(started)).toBe('timedOut');
  });

  it('a whole answer that stalled past its idle bound (the call’s TIMED_OUT) moves on; with no target left it times out', () => {
    const stalled = error('TIMED_OUT', { family: 'runtime', retryable: false, timeout: 'idle' });
    const { snapshot: moved, actions } = run(withChain(CHAIN), admit, fail(stalled, 1700));
    expect(leaf(moved)).toBe('fallingBack');
    expect(actions).toContain('notifyFallback');
    expect(moved.context.routing?.route[0]?.outcome).toBe('TIMED_OUT');
    expect(moved.context.error).toBe(stalled);
    const last = run(withChain([target('kimi', 'k2')]), admit, fail(stalled, 1700)).snapshot;
    expect(leaf(last)).toBe('timedOut');
    expect(last.context.error).toBe(stalled);
    expect(last.context.endedAt).toBe(1700);
  });

  it('before the idle deadline, or without one (not streaming), a tick leaves the call alone', () => {
    const idle = 1100 + INPUT.idleTimeoutMs;
    expect(leaf(run(withChain(CHAIN, { stream: true }), admit, tick(idle - 1)).snapshot)).toBe('calling');
    // A call that does not stream has no idle deadline: only the run deadline ends it.
    const plain = run(withChain(CHAIN), admit, tick(1100 + INPUT.timeoutMs - 1)).snapshot;
    expect(leaf(plain)).toBe('calling');
    expect(plain.context.routing?.target).toBe(0);
  });

  it('CONTEXT_TOO_LONG with no larger window left fails the session instead of moving', () => {
    const chain = [target('kimi', 'small', 8000), target('glm', 'same', 8000)];
    const { snapshot } = run(withChain(chain), admit, fail(error('CONTEXT_TOO_LONG'), 1250));
    expect(leaf(snapshot)).toBe('failed');
    expect(snapshot.context.error?.code).toBe('CONTEXT_TOO_LONG');
  });

  it('CONTEXT_TOO_LONG skips to a target with a larger window, recording the ones passed over', () => {
    const chain = [target('kimi', 'small', 8000), target('glm', 'same', 8000), target('glm', 'big', 128000)];
    const { snapshot } = run(withChain(chain), admit, fail(error('CONTEXT_TOO_LONG'), 1250), tick(1250));
    expect(snapshot.context.routing?.target).toBe(2);
    expect(snapshot.context.routing?.route).toEqual([
      { provider: 'kimi', model: 'small', outcome: 'CONTEXT_TOO_LONG', ms: 150 },
      { provider: 'glm', model: 'same', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
    ]);
  });

  it('starts at the first target that fits; the ones before are in the route with 0 ms', () => {
    const chain = [target('kimi', 'small', 8000, false), target('glm', 'big', 128000)];
    const { snapshot } = run(withChain(chain), admit, done(1500));
    expect(leaf(snapshot)).toBe('done');
    const routing = snapshot.context.routing;
    if (routing === null) throw new Error('Expected routing');
    expect(finalRoute(chain, routing, 'done', 1500, 1100)).toEqual([
      { provider: 'kimi', model: 'small', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
      { provider: 'glm', model: 'big', outcome: 'done', ms: 400 },
    ]);
  });

  it('a session without a chain has no routing and fails where it always did', () => {
    const { snapshot } = run(INPUT, admit, fail(error('QUOTA_EXHAUSTED')));
    expect(snapshot.context.routing).toBeNull();
    expect(leaf(snapshot)).toBe('failed');
  });

  it('the run deadline passing while falling back times the session out, with the run timeout as its error', () => {
    const deadline = 1100 + INPUT.timeoutMs;
    const { snapshot, actions } = run(
      withChain(CHAIN),
      admit,
      fail(UNAVAILABLE, deadline - 1),
      tick(deadline),
    );
    expect(leaf(snapshot)).toBe('timedOut');
    // The caller reads why it ended: the run deadline, not the error that made it move on.
    expect(snapshot.context.error).toEqual({
      family: 'runtime',
      code: 'TIMED_OUT',
      retryable: false,
      timeout: 'run',
      message: 'Expected the session to finish within 10000 ms of starting, it ran 10000 ms (1 attempt)',
    });
    expect(actions.filter((a) => a === 'startProviderCall')).toHaveLength(1);
  });

  it('the next target is called at the hop time, not before: an earlier tick leaves the session falling back', () => {
    // A snapshot restored in `fallingBack` whose hop time is still ahead (as a backend restores one).
    const moved = run(withChain(CHAIN), admit, fail(UNAVAILABLE, 1300)).snapshot;
    const ahead = sessionMachine.resolveState({
      value: { running: 'fallingBack' },
      context: { ...moved.context, retryAt: 1500 },
    } as never);
    expect(nextWakeAt('fallingBack', ahead.context)).toBe(1500);
    const [early, earlyActions] = transition(sessionMachine, ahead, tick(1499));
    expect(leaf(early)).toBe('fallingBack');
    expect(earlyActions.map((a) => a.type)).not.toContain('startProviderCall');
    const [due, dueActions] = transition(sessionMachine, early, tick(1500));
    expect(leaf(due)).toBe('calling');
    expect(dueActions.map((a) => a.type)).toContain('startProviderCall');
    expect(due.context.routing?.target).toBe(1);
    // Without a hop time no tick starts it: only the run deadline ends the wait.
    const unset = sessionMachine.resolveState({
      value: { running: 'fallingBack' },
      context: { ...moved.context, retryAt: null },
    } as never);
    expect(leaf(transition(sessionMachine, unset, tick(5000))[0])).toBe('fallingBack');
    expect(leaf(transition(sessionMachine, unset, tick(1100 + INPUT.timeoutMs))[0])).toBe('timedOut');
  });

  it('a queued session rerouted (its provider cannot take it in time) starts on its next target', () => {
    const reroute: SessionMachineEvent = { type: 'session.reroute', now: 1050, error: UNAVAILABLE };
    const { snapshot, actions } = run(withChain(CHAIN), reroute);
    expect(leaf(snapshot)).toBe('fallingBack');
    expect(actions).toContain('notifyFallback');
    expect(snapshot.context.startedAt).toBe(1050);
    expect(snapshot.context.runDeadlineAt).toBe(1050 + INPUT.timeoutMs);
    expect(snapshot.context.routing?.target).toBe(1);
    expect(snapshot.context.routing?.route).toEqual([
      { provider: 'kimi', model: 'k2', outcome: 'PROVIDER_UNAVAILABLE', ms: 0 },
    ]);
    // Without a chain, or with no target left that fits, it stays queued.
    expect(leaf(run(INPUT, reroute).snapshot)).toBe('queued');
    const last = [target('kimi', 'k2'), target('glm', 'glm-4.6', null, false)];
    expect(leaf(run(withChain(last), reroute).snapshot)).toBe('queued');
    const noTargets = run({ ...withChain(CHAIN), targets: undefined } as SessionInput, reroute).snapshot;
    expect(leaf(noTargets)).toBe('queued');
  });
});
