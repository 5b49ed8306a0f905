/**
 * Differential property: the compiled session machine (`src/core/compiled-machine.ts`) against
 * XState's own interpreter. Random inputs and random event sequences go through a real XState
 * actor and through the compiled actor; after every event both must agree on the state value,
 * status, context and on every effect the runtime would see (the custom actions, logged with the
 * context and event they ran with).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import {
  type SessionContext,
  type SessionInput,
  type SessionMachineEvent,
  sessionMachine,
} from '../../machines/session.js';
import type { TroupeErrorData } from '../../src/core/errors.js';
import { compileMachine } from '../../src/core/statechart/compile.js';

const numRuns = Number(process.env.TROUPE_PROPERTY_RUNS ?? 200);

/** The actions the runtime provides; each one logged with what it saw. */
const EFFECTS = [
  'startProviderCall',
  'abortProviderCall',
  'notifyStarted',
  'notifyDelta',
  'notifyRetry',
] as const;

type ActionArgs = { readonly context: SessionContext; readonly event: SessionMachineEvent };

/** The session machine with every effect recording into `log`. */
function recordingMachine(log: string[]) {
  const record =
    (name: string) =>
    ({ context, event }: ActionArgs): void => {
      const { input: _input, ...state } = context;
      log.push(`${name} ${JSON.stringify({ event, state })}`);
    };
  const actions = Object.fromEntries(EFFECTS.map((name) => [name, record(name)])) as Record<
    (typeof EFFECTS)[number],
    (args: ActionArgs) => void
  >;
  return sessionMachine.provide({ actions });
}

type Machine = ReturnType<typeof recordingMachine>;

/** What both engines expose; an XState `Actor` and a `CompiledActor` both have it. */
interface Runnable {
  send(event: SessionMachineEvent): void;
  getSnapshot(): { readonly value: unknown; readonly status: string; readonly context: unknown };
}

/** Two engines side by side, each with its own machine and effect log. */
interface Pair {
  readonly xstate: Runnable;
  readonly compiled: Runnable;
  readonly xstateLog: string[];
  readonly compiledLog: string[];
}

function engines(): {
  xstateMachine: Machine;
  compiledMachine: Machine;
  xstateLog: string[];
  compiledLog: string[];
} {
  const xstateLog: string[] = [];
  const compiledLog: string[] = [];
  return {
    xstateMachine: recordingMachine(xstateLog),
    compiledMachine: recordingMachine(compiledLog),
    xstateLog,
    compiledLog,
  };
}

function expectSame(pair: Pair, where: string): void {
  const x = pair.xstate.getSnapshot();
  const c = pair.compiled.getSnapshot();
  expect(c.value, `value ${where}`).toEqual(x.value);
  expect(c.status, `status ${where}`).toBe(x.status);
  expect(c.context, `context ${where}`).toStrictEqual(x.context);
  expect(pair.compiledLog, `effects ${where}`).toEqual(pair.xstateLog);
}

/**
 * Sends one event to both. XState warns on every event sent to an actor that reached its final
 * state (and ignores it); that warning is expected here, so it is swallowed for that case only.
 */
function sendBoth(pair: Pair, event: SessionMachineEvent): void {
  if (pair.xstate.getSnapshot().status === 'done') {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      pair.xstate.send(event);
      for (const [message] of warn.mock.calls) expect(String(message)).toMatch(/sent to stopped actor/);
    } finally {
      warn.mockRestore();
    }
  } else pair.xstate.send(event);
  pair.compiled.send(event);
}

function runBoth(pair: Pair, events: readonly SessionMachineEvent[], offset = 0): void {
  expectSame(pair, offset === 0 ? 'at start' : `at restore (after ${offset} events)`);
  events.forEach((event, i) => {
    // A snapshot handed out earlier keeps its context: the runtime holds on to snapshots.
    const before = { xstate: pair.xstate.getSnapshot(), compiled: pair.compiled.getSnapshot() };
    sendBoth(pair, event);
    const where = `after event ${offset + i} ${JSON.stringify(event)}`;
    expectSame(pair, where);
    expect(before.compiled.context, `the context of the snapshot before, ${where}`).toStrictEqual(
      before.xstate.context,
    );
  });
}

// ---- Arbitraries ---------------------------------------------------------------------------

const inputArb: fc.Arbitrary<SessionInput> = fc
  .record({
    createdAt: fc.integer({ min: 0, max: 10_000 }),
    queueWindow: fc.oneof(
      { arbitrary: fc.constant(0), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 500 }), weight: 1 },
      { arbitrary: fc.integer({ min: 500, max: 100_000 }), weight: 4 },
    ),
    stream: fc.boolean(),
    timeoutMs: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 200 }), weight: 1 },
      { arbitrary: fc.integer({ min: 200, max: 30_000 }), weight: 3 },
    ),
    idleTimeoutMs: fc.integer({ min: 1, max: 5_000 }),
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    backoffBaseMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 })),
    backoffMaxMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
    priority: fc.integer({ min: 0, max: 9 }),
    // Fallback chains: none, or up to four targets with known or unknown windows, fitting or not.
    targets: fc.option(
      fc.array(
        fc.record({
          provider: fc.constantFrom('p0', 'p1', 'p2'),
          model: fc.constantFrom('m', 'n'),
          contextWindow: fc.option(fc.integer({ min: 1, max: 4 }).map((k) => k * 1000)),
          fits: fc.boolean(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      { nil: undefined },
    ),
  })
  .map(({ queueWindow, targets, ...rest }) => ({
    sessionId: 's1',
    requestId: 'r1',
    provider: 'p0',
    model: 'm',
    ...rest,
    queueDeadlineAt: rest.createdAt + queueWindow,
    ...(targets === undefined ? {} : { targets }),
  }));

const errorArb: fc.Arbitrary<TroupeErrorData> = fc.record(
  {
    family: fc.constantFrom('provider', 'runtime'),
    code: fc.constantFrom(
      'RATE_LIMITED',
      'PROVIDER_UNAVAILABLE',
      'NETWORK',
      'AUTH_FAILED',
      'BAD_RESPONSE',
      'QUOTA_EXHAUSTED',
      'CONTEXT_TOO_LONG',
    ),
    message: fc.string({ maxLength: 12 }),
    retryable: fc.boolean(),
    retryAfterMs: fc.oneof(
      { arbitrary: fc.constant(0), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 3_000 }), weight: 3 },
      { arbitrary: fc.integer({ min: 3_000, max: 60_000 }), weight: 1 },
    ),
    status: fc.constantFrom(429, 500, 503),
  },
  { requiredKeys: ['family', 'code', 'message', 'retryable'] },
);

type Body = SessionMachineEvent extends infer E ? (E extends unknown ? Omit<E, 'now'> : never) : never;

const admitArb = fc.constant({ type: 'session.admit' as const });
const tickArb = fc.constant({ type: 'session.tick' as const });
const cancelArb = fc.record(
  {
    type: fc.constant('session.cancel' as const),
    reason: fc.string({ maxLength: 8 }),
    code: fc.constant('SHUTTING_DOWN' as const),
  },
  { requiredKeys: ['type', 'reason'] },
);
const chunkArb = fc.record({
  type: fc.constant('provider.chunk' as const),
  chars: fc.nat({ max: 10_000 }),
  delta: fc.oneof(fc.constant(null), fc.record({ content: fc.string({ maxLength: 6 }) })),
});
const doneArb = fc.record(
  {
    type: fc.constant('provider.done' as const),
    output: fc.record(
      { content: fc.string({ maxLength: 10 }), finishReason: fc.constantFrom('stop', 'length') },
      { requiredKeys: ['content'] },
    ),
    usage: fc.record({
      promptTokens: fc.nat({ max: 1000 }),
      completionTokens: fc.nat({ max: 1000 }),
      totalTokens: fc.nat({ max: 2000 }),
    }),
  },
  { requiredKeys: ['type', 'output'] },
);
const failArb = (error: fc.Arbitrary<TroupeErrorData>) =>
  fc.record({
    type: fc.constant('provider.error' as const),
    error,
    // Uniform over [0, 1), with its ends: `fc.double` alone mostly draws values near 0.
    random: fc.oneof(
      fc.constantFrom(0, 0.5, 1 - Number.EPSILON / 2),
      fc.integer({ min: 0, max: 999_999 }).map((n) => n / 1_000_000),
    ),
  });

/** Admitted only to move on: its provider cools down past its queue deadline. */
const rerouteArb = fc.record({ type: fc.constant('session.reroute' as const), error: errorArb });

/** Every event type, in proportions that reach every state. */
const anyBodyArb: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: admitArb, weight: 3 },
  { arbitrary: rerouteArb, weight: 1 },
  { arbitrary: tickArb, weight: 5 },
  { arbitrary: cancelArb, weight: 1 },
  { arbitrary: chunkArb, weight: 3 },
  { arbitrary: doneArb, weight: 2 },
  { arbitrary: failArb(errorArb), weight: 4 },
);

/** Mostly retryable errors and ticks: runs that back off and retry, up to `maxAttempts`. */
const retryingBodyArb: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: tickArb, weight: 5 },
  { arbitrary: failArb(errorArb.map((error) => ({ ...error, retryable: true }))), weight: 4 },
  { arbitrary: failArb(errorArb), weight: 1 },
  { arbitrary: chunkArb, weight: 1 },
  { arbitrary: doneArb, weight: 1 },
  { arbitrary: cancelArb, weight: 1 },
  { arbitrary: admitArb, weight: 1 },
);

/** Time between events: often none, often a little, sometimes far past every deadline. */
const gapArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 100 }), weight: 4 },
  { arbitrary: fc.integer({ min: 100, max: 3_000 }), weight: 3 },
  { arbitrary: fc.integer({ min: 3_000, max: 100_000 }), weight: 1 },
);

const stepsOf = (body: fc.Arbitrary<Body>) => fc.array(fc.tuple(gapArb, body), { maxLength: 25 });

/** Up to 25 events: any mix, or an admission followed mostly by errors and ticks. */
const stepsArb = fc.oneof(
  stepsOf(anyBodyArb),
  fc
    .tuple(gapArb, stepsOf(retryingBodyArb))
    .map(([gap, rest]) => [[gap, { type: 'session.admit' as const }] as const, ...rest.slice(0, 24)]),
);

/** Events with non-decreasing `now`, from `start`. */
function timed(start: number, steps: readonly (readonly [number, Body])[]): SessionMachineEvent[] {
  let now = start;
  return steps.map(([gap, body]) => {
    now += gap;
    return { ...body, now } as SessionMachineEvent;
  });
}

const scenarioArb = fc
  .tuple(inputArb, fc.integer({ min: 0, max: 200 }), stepsArb)
  .map(([input, lead, steps]) => ({ input, events: timed(input.createdAt + lead, steps) }));

// ---- Properties ----------------------------------------------------------------------------

describe('compiled session machine against XState (fast-check)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it(`same value, status, context and effects after every event, ${numRuns} runs`, () => {
    fc.assert(
      fc.property(scenarioArb, ({ input, events }) => {
        const { xstateMachine, compiledMachine, xstateLog, compiledLog } = engines();
        const pair: Pair = {
          xstate: createActor(xstateMachine, { input }).start(),
          compiled: compileMachine<SessionContext, SessionMachineEvent, SessionInput>(compiledMachine).start(
            input,
          ),
          xstateLog,
          compiledLog,
        };
        runBoth(pair, events);
      }),
      { numRuns },
    );
  });

  it(`same after restoring an active snapshot taken mid-run, ${numRuns} runs`, () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), ({ input, events }, pick) => {
        // Where the session was active: before any event, or after some prefix of them.
        const origin = createActor(recordingMachine([]), { input }).start();
        const active: { at: number; value: unknown; context: SessionContext }[] = [];
        const keep = (at: number) => {
          const snapshot = origin.getSnapshot();
          if (snapshot.status === 'active')
            active.push({ at, value: snapshot.value, context: snapshot.context });
        };
        keep(0);
        events.forEach((event, i) => {
          if (origin.getSnapshot().status === 'active') {
            origin.send(event);
            keep(i + 1);
          }
        });
        const cut = active[pick % active.length];
        if (cut === undefined) throw new Error('Expected a session to start active');
        // Each engine restores from its own copy of what a store would hold: plain JSON.
        const saved = JSON.stringify({ value: cut.value, context: cut.context });
        const forXState = JSON.parse(saved) as { value: unknown; context: SessionContext };
        const forCompiled = JSON.parse(saved) as { value: unknown; context: SessionContext };

        const { xstateMachine, compiledMachine, xstateLog, compiledLog } = engines();
        const pair: Pair = {
          xstate: createActor(xstateMachine, {
            input,
            snapshot: xstateMachine.resolveState({
              value: forXState.value as never,
              context: forXState.context,
            }),
          }).start(),
          compiled: compileMachine<SessionContext, SessionMachineEvent, SessionInput>(
            compiledMachine,
          ).restore(forCompiled.value, forCompiled.context),
          xstateLog,
          compiledLog,
        };
        runBoth(pair, events.slice(cut.at), cut.at);
      }),
      { numRuns },
    );
  });
});
