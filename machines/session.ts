/**
 * The session machine: one request's life, `queued → running → done | failed | timedOut | cancelled`.
 *
 * Pure: every event that depends on time carries `now`, every deadline is an absolute time in
 * context, and randomness (retry jitter) arrives in the event. The runtime owns the one timer that
 * sends `session.tick` when the earliest of a session's times (`nextWakeAt`) comes; nothing here
 * sets a timer, so a snapshot restored elsewhere re-arms from its context alone.
 *
 * Effects are named actions the runtime provides: `startProviderCall` on entering
 * `running.attempt`, `abortProviderCall` on leaving it, so leaving `running` for any reason aborts
 * the provider call's signal.
 */
import { assign, setup } from 'xstate';
import type { TimeoutKind, TroupeErrorData } from '../src/core/errors.js';
import {
  canRerouteQueued,
  fallBackTo,
  fallbackTarget,
  initialRouting,
  type RouteTargetData,
  type RoutingData,
} from './routing.js';
import { backoffDelayMs, retryFits } from './session-state.js';

export { backoffDelayMs, leafState, nextWakeAt, retryFits, type SessionStateValue } from './session-state.js';

export interface SessionOutputData {
  readonly content: string;
  readonly reasoning?: string;
  readonly toolCalls?: readonly {
    readonly id: string;
    readonly type: string;
    readonly function: { readonly name: string; readonly arguments: string };
  }[];
  readonly finishReason?: string;
  /** GLM web-search results, as the vendor sent them. */
  readonly webSearch?: readonly Readonly<Record<string, unknown>>[];
  /** What the adapter changed in the request, and why (shown in metadata). */
  readonly notes?: readonly string[];
}

export interface UsageData {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly cachedTokens?: number;
  /** Completion tokens spent reasoning, when reported (part of `completionTokens`). */
  readonly reasoningTokens?: number;
  /** What the vendor's rate limiter counted, when not `totalTokens` (Moonshot: prompt + budget sent). */
  readonly rateLimitTokens?: number;
}

/** What a session starts from: all plain data. */
export interface SessionInput {
  readonly sessionId: string;
  readonly requestId: string;
  readonly provider: string;
  readonly model: string;
  readonly priority: number;
  readonly stream: boolean;
  readonly createdAt: number;
  readonly queueDeadlineAt: number;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /**
   * The fallback chain, the request's own target first (`provider` and `model` above are the
   * first of these that fits); absent for a session without fallbacks. See `routing.ts`.
   */
  readonly targets?: readonly RouteTargetData[];
}

export interface SessionContext {
  /** Fixed for the session's life; kept apart so each transition copies only what changes. */
  readonly input: SessionInput;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly runDeadlineAt: number | null;
  readonly idleDeadlineAt: number | null;
  readonly retryAt: number | null;
  readonly attempts: number;
  /** Characters of content and reasoning received in the current attempt. */
  readonly chars: number;
  readonly output: SessionOutputData | null;
  readonly usage: UsageData | null;
  readonly error: TroupeErrorData | null;
  /** Where the session is in its fallback chain; `null` without one. */
  readonly routing: RoutingData | null;
}

export type SessionMachineEvent =
  | { readonly type: 'session.admit'; readonly now: number }
  | { readonly type: 'session.tick'; readonly now: number }
  /**
   * Admission found the session's provider cooling down (or its breaker open) until past its queue
   * deadline: it starts by moving to its next target (`canRerouteQueued` in `routing.ts`).
   */
  | { readonly type: 'session.reroute'; readonly now: number; readonly error: TroupeErrorData }
  | {
      readonly type: 'session.cancel';
      readonly now: number;
      readonly reason: string;
      readonly code?: 'SHUTTING_DOWN';
    }
  /**
   * A delta of a stream. `delta` is `undefined` when the event only brings the session's bookkeeping
   * up to date for deltas observers already have (the runtime may fold a stream's chunks into one
   * step: src/runtime/delta-folding.ts); `chars` and `now` are the latest chunk's.
   */
  | { readonly type: 'provider.chunk'; readonly now: number; readonly chars: number; readonly delta: unknown }
  | {
      readonly type: 'provider.done';
      readonly now: number;
      readonly output: SessionOutputData;
      readonly usage?: UsageData;
    }
  | {
      readonly type: 'provider.error';
      readonly now: number;
      readonly error: TroupeErrorData;
      /** A number in [0, 1) for jitter, drawn by the runtime so the machine stays pure. */
      readonly random: number;
      /** The attempt's gate refused it (a circuit breaker, a budget): nothing reached the provider, and its limits' charge goes back whole. */
      readonly unsent?: true;
    };

/**
 * The context a session starts with. Written out field by field: V8 makes spread-and-add
 * far slower than a literal, and this runs once per session.
 */
export function initialContext(input: SessionInput): SessionContext {
  return {
    input,
    startedAt: null,
    endedAt: null,
    runDeadlineAt: null,
    idleDeadlineAt: null,
    retryAt: null,
    attempts: 0,
    chars: 0,
    output: null,
    usage: null,
    error: null,
    routing: input.targets === undefined ? null : initialRouting(input.targets),
  };
}

function timeoutError(kind: TimeoutKind, context: SessionContext, now: number): TroupeErrorData {
  const message =
    kind === 'queue'
      ? `Expected the session to start within ${context.input.queueDeadlineAt - context.input.createdAt} ms of queueing, it waited ${now - context.input.createdAt} ms`
      : kind === 'run'
        ? `Expected the session to finish within ${context.input.timeoutMs} ms of starting, it ran ${now - (context.startedAt ?? now)} ms (${context.attempts} attempt${context.attempts === 1 ? '' : 's'})`
        : `Expected a stream delta at least every ${context.input.idleTimeoutMs} ms, none came for ${context.input.idleTimeoutMs} ms`;
  const error = { family: 'runtime', code: 'TIMED_OUT', message, retryable: false, timeout: kind } as const;
  // The session's own deadline between a stream's deltas: its call had not answered since.
  return kind === 'idle' ? { ...error, stalled: 'stream' } : error;
}

export const sessionMachine = setup({
  // Stryker disable next-line ObjectLiteral: type-only; setup() does nothing with it at runtime.
  types: {
    context: {} as SessionContext,
    events: {} as SessionMachineEvent,
    input: {} as SessionInput,
  },
  actions: {
    // Provided by the runtime: the effects at the edge.
    startProviderCall: () => {},
    abortProviderCall: () => {},
    notifyStarted: () => {},
    notifyDelta: () => {},
    notifyRetry: () => {},
    recordOutput: assign({
      output: ({ event }) => (event as Extract<SessionMachineEvent, { type: 'provider.done' }>).output,
      usage: ({ event }) => (event as Extract<SessionMachineEvent, { type: 'provider.done' }>).usage ?? null,
    }),
    recordError: assign({
      error: ({ event }) => (event as Extract<SessionMachineEvent, { type: 'provider.error' }>).error,
    }),
    scheduleRetry: assign({
      error: ({ event }) => (event as Extract<SessionMachineEvent, { type: 'provider.error' }>).error,
      retryAt: ({ context, event }) => {
        const e = event as Extract<SessionMachineEvent, { type: 'provider.error' }>;
        return e.now + backoffDelayMs(context, e.error, e.random);
      },
    }),
    fallBack: assign(({ context, event }) => {
      const e = event as Extract<SessionMachineEvent, { type: 'provider.error' | 'session.reroute' }>;
      return fallBackTo(context, e.error, e.now);
    }),
    fallBackOnIdle: assign(({ context, event }) => {
      const now = (event as { now: number }).now;
      return fallBackTo(context, timeoutError('idle', context, now), now);
    }),
    notifyFallback: () => {},
    recordRunTimeout: assign({
      error: ({ context, event }) => timeoutError('run', context, (event as { now: number }).now),
    }),
    recordIdleTimeout: assign({
      error: ({ context, event }) => timeoutError('idle', context, (event as { now: number }).now),
    }),
    recordChunk: assign({
      chars: ({ event }) => (event as Extract<SessionMachineEvent, { type: 'provider.chunk' }>).chars,
      idleDeadlineAt: ({ context, event }) => (event as { now: number }).now + context.input.idleTimeoutMs,
    }),
    recordEnd: assign({ endedAt: ({ event }) => (event as { now: number }).now }),
    recordCancel: assign({
      error: ({ event }) => {
        const e = event as Extract<SessionMachineEvent, { type: 'session.cancel' }>;
        const code = e.code ?? 'CANCELLED';
        return { family: 'runtime' as const, code, message: `Cancelled: ${e.reason}`, retryable: false };
      },
    }),
    recordQueueTimeout: assign({
      error: ({ context, event }) => timeoutError('queue', context, (event as { now: number }).now),
    }),
  },
  guards: {
    queueDeadlinePassed: ({ context, event }) =>
      (event as { now: number }).now >= context.input.queueDeadlineAt,
    runDeadlinePassed: ({ context, event }) =>
      context.runDeadlineAt !== null && (event as { now: number }).now >= context.runDeadlineAt,
    idleDeadlinePassed: ({ context, event }) =>
      context.idleDeadlineAt !== null && (event as { now: number }).now >= context.idleDeadlineAt,
    retryDue: ({ context, event }) =>
      context.retryAt !== null && (event as { now: number }).now >= context.retryAt,
    canFallBack: ({ context, event }) => {
      // Stryker disable next-line ConditionalExpression,BooleanLiteral: only provider.error transitions use this guard; it narrows the type.
      if (event.type !== 'provider.error') return false;
      const retriesLeft = retryFits(context, event.error, event.now, event.random);
      return fallbackTarget(context, event.error, event.now, retriesLeft) !== -1;
    },
    canReroute: ({ context, event }) => {
      // Stryker disable next-line ConditionalExpression,BooleanLiteral,StringLiteral: only session.reroute transitions use this guard; it narrows the type.
      if (event.type !== 'session.reroute') return false;
      return canRerouteQueued(context, event.error);
    },
    // Between attempts: the provider it would call next cools down past its run deadline.
    canRerouteHeld: ({ context, event }) =>
      // Stryker disable next-line ConditionalExpression: only session.reroute transitions use this guard; it narrows the type.
      event.type === 'session.reroute' && fallbackTarget(context, event.error, event.now) !== -1,
    canFallBackOnIdle: ({ context, event }) => {
      const now = (event as { now: number }).now;
      if (context.idleDeadlineAt === null || now < context.idleDeadlineAt) return false;
      return fallbackTarget(context, null, now) !== -1;
    },
    // A call that ended on its own idle bound (an answer read whole that stalled): the session timed out.
    callTimedOut: ({ event }) =>
      (event as Extract<SessionMachineEvent, { type: 'provider.error' }>).error.code === 'TIMED_OUT',
    canRetry: ({ context, event }) => {
      // Only from `calling`: once deltas reached observers (`streaming`), a retry would repeat them.
      // Stryker disable next-line ConditionalExpression,BooleanLiteral: only provider.error transitions use this guard; it narrows the type.
      if (event.type !== 'provider.error') return false;
      return event.error.retryable && retryFits(context, event.error, event.now, event.random);
    },
  },
}).createMachine({
  id: 'session',
  initial: 'queued',
  context: ({ input }) => initialContext(input),
  states: {
    queued: {
      on: {
        'session.admit': {
          target: 'running',
          actions: assign({
            startedAt: ({ event }) => event.now,
            runDeadlineAt: ({ context, event }) => event.now + context.input.timeoutMs,
          }),
        },
        // Admitted only to move on: its first target's turn ends before any call (`ms` 0).
        'session.reroute': {
          guard: 'canReroute',
          target: '#session.running.fallingBack',
          actions: [
            assign({
              startedAt: ({ event }) => event.now,
              runDeadlineAt: ({ context, event }) => event.now + context.input.timeoutMs,
            }),
            'fallBack',
            'notifyFallback',
          ],
        },
        'session.tick': { guard: 'queueDeadlinePassed', target: 'timedOut', actions: 'recordQueueTimeout' },
        'session.cancel': { target: 'cancelled' },
      },
    },
    running: {
      initial: 'attempt',
      // Each sub-state handles `session.tick` itself: which deadline applies depends on it.
      on: { 'session.cancel': { target: 'cancelled' } },
      states: {
        // One provider call. Leaving it for any reason (done, error, deadline, cancel) aborts the call.
        attempt: {
          entry: [
            assign({
              attempts: ({ context }) => context.attempts + 1,
              chars: 0,
              retryAt: null,
              idleDeadlineAt: ({ context, event }) =>
                context.input.stream ? (event as { now: number }).now + context.input.idleTimeoutMs : null,
            }),
            'notifyStarted',
            'startProviderCall',
          ],
          exit: 'abortProviderCall',
          initial: 'calling',
          on: {
            'provider.done': { target: '#session.done', actions: 'recordOutput' },
            'session.tick': [
              { guard: 'runDeadlinePassed', target: '#session.timedOut', actions: 'recordRunTimeout' },
              { guard: 'idleDeadlinePassed', target: '#session.timedOut', actions: 'recordIdleTimeout' },
            ],
          },
          states: {
            calling: {
              on: {
                // No delta has reached anyone yet: the idle deadline here is a timeout before the first.
                'session.tick': {
                  guard: 'canFallBackOnIdle',
                  target: '#session.running.fallingBack',
                  actions: ['fallBackOnIdle', 'notifyFallback'],
                },
                'provider.chunk': { target: 'streaming', actions: ['recordChunk', 'notifyDelta'] },
                'provider.error': [
                  {
                    guard: 'canFallBack',
                    target: '#session.running.fallingBack',
                    actions: ['fallBack', 'notifyFallback'],
                  },
                  {
                    guard: 'canRetry',
                    target: '#session.running.backingOff',
                    actions: ['scheduleRetry', 'notifyRetry'],
                  },
                  { guard: 'callTimedOut', target: '#session.timedOut', actions: 'recordError' },
                  { target: '#session.failed', actions: 'recordError' },
                ],
              },
            },
            // Deltas have reached observers: an error now is final, since a retry or a fallback
            // would repeat them or splice another model's text onto them.
            streaming: {
              on: {
                'provider.chunk': { actions: ['recordChunk', 'notifyDelta'] },
                'provider.error': { target: '#session.failed', actions: 'recordError' },
              },
            },
          },
        },
        backingOff: {
          on: {
            'session.tick': [
              { guard: 'runDeadlinePassed', target: '#session.timedOut', actions: 'recordRunTimeout' },
              { guard: 'retryDue', target: 'attempt' },
            ],
            // Its provider cools down past the run deadline (another call's 429): the next target.
            'session.reroute': {
              guard: 'canRerouteHeld',
              target: 'fallingBack',
              actions: ['fallBack', 'notifyFallback'],
            },
          },
        },
        // Between one target and the next: `retryAt` is the hop's time, so the next tick starts it.
        fallingBack: {
          on: {
            'session.tick': [
              { guard: 'runDeadlinePassed', target: '#session.timedOut', actions: 'recordRunTimeout' },
              { guard: 'retryDue', target: 'attempt' },
            ],
            // The target it hops to cools down past the run deadline: the one after it, at once.
            'session.reroute': { guard: 'canRerouteHeld', actions: ['fallBack', 'notifyFallback'] },
          },
        },
      },
    },
    done: { type: 'final', entry: 'recordEnd' },
    failed: { type: 'final', entry: 'recordEnd' },
    timedOut: { type: 'final', entry: 'recordEnd' },
    cancelled: { type: 'final', entry: ['recordEnd', 'recordCancel'] },
  },
});

export type SessionMachine = typeof sessionMachine;
