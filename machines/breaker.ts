/**
 * A provider's circuit breaker: `closed → open → halfOpen → closed | open`.
 *
 * Closed, calls pass and failures (5xx, network errors, timeouts) are remembered for `windowMs`;
 * the `failures`-th within the window opens it. Open, every call is refused until `openUntil`;
 * the first call after that becomes the probe and the breaker is half-open. Half-open, only the
 * probe is out: its success closes the breaker, its failure opens it again for `openMs`. A probe
 * that never reports (its instance died) is presumed lost at `probeUntil`; the next call then
 * becomes a new probe. A call that ended telling nothing about the provider (`breaker.void`: its
 * caller cancelled it, or cut it short with a deadline of its own) counts neither way; a probe that
 * ended so frees its turn at once for the next call.
 *
 * Pure: context is plain data, every event carries `now`, nothing reads a clock or sets a timer,
 * so the snapshot (`{ value, context }`) is what a shared backend stores and any instance resumes.
 */
import { assign, setup } from 'xstate';
import { snapshotStep } from './step.js';

export interface BreakerSettings {
  /** Failures within `windowMs` that open the breaker. */
  readonly failures: number;
  readonly windowMs: number;
  /** How long it stays open before a probe may go. */
  readonly openMs: number;
  /** How long a probe may be out before another may go (it was lost with its instance). */
  readonly probeTimeoutMs: number;
}

export interface BreakerContext {
  readonly settings: BreakerSettings;
  /** Times of the failures in the current window, oldest first; at most `settings.failures`. */
  readonly failures: readonly number[];
  /** The code of the last failure counted. */
  readonly lastError: string | null;
  readonly openedAt: number | null;
  /** Open: when a probe may go. */
  readonly openUntil: number | null;
  /** Half-open: when the probe out is presumed lost. */
  readonly probeUntil: number | null;
  /** Probes granted so far: the number of the probe out, which its outcome names. */
  readonly probes: number;
  /** Times it opened. */
  readonly opened: number;
}

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export type BreakerEvent =
  | { readonly type: 'breaker.request'; readonly now: number }
  | { readonly type: 'breaker.success'; readonly now: number; readonly probe: number | null }
  | { readonly type: 'breaker.void'; readonly now: number; readonly probe: number | null }
  | {
      readonly type: 'breaker.failure';
      readonly now: number;
      readonly code: string;
      readonly probe: number | null;
    };

/** The snapshot as stored: plain data. */
export interface BreakerSnapshot {
  readonly value: BreakerState;
  readonly context: BreakerContext;
}

export function initialBreaker(settings: BreakerSettings): BreakerSnapshot {
  return {
    value: 'closed',
    context: {
      settings,
      failures: [],
      lastError: null,
      openedAt: null,
      openUntil: null,
      probeUntil: null,
      probes: 0,
      opened: 0,
    },
  };
}

type Failure = Extract<BreakerEvent, { type: 'breaker.failure' }>;

/** The failures still in the window at `now`, with this one. */
function windowWith(context: BreakerContext, event: Failure): number[] {
  const since = event.now - context.settings.windowMs;
  const kept = context.failures.filter((at) => at > since);
  kept.push(event.now);
  // Stryker disable next-line MethodExpression: closed trips at `failures`, so the window never holds more before this one.
  return kept.slice(-context.settings.failures);
}

export const breakerMachine = setup({
  // Stryker disable next-line ObjectLiteral: type-only.
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerSettings,
  },
  actions: {
    countFailure: assign({
      failures: ({ context, event }) => windowWith(context, event as Failure),
      lastError: ({ event }) => (event as Failure).code,
    }),
    open: assign({
      openedAt: ({ event }) => (event as Failure).now,
      openUntil: ({ context, event }) => (event as Failure).now + context.settings.openMs,
      probeUntil: null,
      failures: [],
      lastError: ({ event }) => (event as Failure).code,
      opened: ({ context }) => context.opened + 1,
    }),
    grantProbe: assign({
      probes: ({ context }) => context.probes + 1,
      probeUntil: ({ context, event }) => event.now + context.settings.probeTimeoutMs,
      openUntil: null,
    }),
    close: assign({ failures: [], openedAt: null, openUntil: null, probeUntil: null }),
    freeProbe: assign({ probeUntil: ({ event }) => event.now }),
  },
  guards: {
    trips: ({ context, event }) => windowWith(context, event as Failure).length >= context.settings.failures,
    openElapsed: ({ context, event }) => event.now >= (context.openUntil ?? Number.POSITIVE_INFINITY),
    probeLost: ({ context, event }) => event.now >= (context.probeUntil ?? Number.POSITIVE_INFINITY),
    isProbe: ({ context, event }) => {
      // Stryker disable next-line ConditionalExpression,BooleanLiteral,StringLiteral: only success and failure transitions use this guard; it narrows the type.
      if (event.type === 'breaker.request') return false;
      // A plain call's outcome (`probe: null`) never equals a probe's number.
      return event.probe === context.probes;
    },
  },
}).createMachine({
  id: 'breaker',
  initial: 'closed',
  context: ({ input }) => initialBreaker(input).context,
  states: {
    closed: {
      on: {
        'breaker.failure': [{ guard: 'trips', target: 'open', actions: 'open' }, { actions: 'countFailure' }],
      },
    },
    open: {
      on: {
        'breaker.request': { guard: 'openElapsed', target: 'halfOpen', actions: 'grantProbe' },
      },
    },
    halfOpen: {
      on: {
        'breaker.request': {
          guard: 'probeLost',
          // Stryker disable next-line StringLiteral: halfOpen has no entry or exit actions, so a targetless transition (`''`) does the same.
          target: 'halfOpen',
          // Stryker disable next-line BooleanLiteral: halfOpen has no entry or exit actions, so reentering changes nothing.
          reenter: true,
          actions: 'grantProbe',
        },
        'breaker.success': { guard: 'isProbe', target: 'closed', actions: 'close' },
        'breaker.failure': { guard: 'isProbe', target: 'open', actions: 'open' },
        'breaker.void': { guard: 'isProbe', actions: 'freeProbe' },
      },
    },
  },
});

export type BreakerMachine = typeof breakerMachine;

// Stryker disable next-line ObjectLiteral: the scope's actor is never started and a step reads only the snapshot it is given, so any settings (or none) step the same.
const step = snapshotStep(breakerMachine, { failures: 1, windowMs: 1, openMs: 1, probeTimeoutMs: 1 });

/** One transition of a stored snapshot, through the machine; the result is plain data again. */
export function stepBreaker(snapshot: BreakerSnapshot, event: BreakerEvent): BreakerSnapshot {
  const resolved = breakerMachine.resolveState({ value: snapshot.value, context: snapshot.context });
  const next = step(resolved, event);
  return { value: next.value as BreakerState, context: next.context };
}

/** What a call asking to pass gets. */
export type BreakerVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'probe'; readonly probe: number }
  | {
      readonly kind: 'refused';
      /** When a probe may go (open), or when the probe out is presumed lost (half-open). */
      readonly until: number;
      readonly state: 'open' | 'halfOpen';
    };

/** A call asks to pass at `now`: the snapshot after, and the verdict. */
export function requestBreaker(
  snapshot: BreakerSnapshot,
  now: number,
): { readonly state: BreakerSnapshot; readonly result: BreakerVerdict } {
  if (snapshot.value === 'closed') return { state: snapshot, result: { kind: 'pass' } };
  const next = stepBreaker(snapshot, { type: 'breaker.request', now });
  if (next.context.probes > snapshot.context.probes)
    return { state: next, result: { kind: 'probe', probe: next.context.probes } };
  const until = (next.value === 'open' ? next.context.openUntil : next.context.probeUntil) ?? now;
  return { state: next, result: { kind: 'refused', until, state: next.value as 'open' | 'halfOpen' } };
}
