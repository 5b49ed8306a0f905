/**
 * The provider machine: a provider's cooldown after it answered `RATE_LIMITED`,
 * `open → coolingDown → probing → open`.
 *
 * - `open`: sessions start as their limits allow.
 * - A `RATE_LIMITED` answer (`provider.rateLimited`) pauses the whole provider until its hint
 *   (`retryAfterMs`, else one second): `coolingDown`. Queued sessions, and running ones due to
 *   retry, wait instead of each spending a 429 on the same limit.
 * - At the end of the pause (`provider.tick`): `probing`. One session goes (`provider.probe`);
 *   the rest wait for its answer. An answer that is not a 429 (`provider.answered`) opens the
 *   provider; another 429 cools it down again. A probe that ends with no answer (cancelled, timed
 *   out), or whose session's run deadline passed (`lapsesAt`: an instance lost mid-probe tells no
 *   end), lets the next session probe. A probe still running `PROBE_ACCEPTED_MS` after it started
 *   was accepted (a rate-limited request is refused at once, before any generation), so the
 *   provider opens then (at a tick, or at the probe's end told since): a long completion as the
 *   probe does not hold the whole provider, and a probe whose instance was lost does not hold it
 *   past that either. One whose run deadline came before that time is never accepted, however late
 *   its end is told: the outcome does not hang on which of a tick and that end is told first.
 *
 * Context is plain data with absolute times and every event carries `now`, so the snapshot
 * (`{ value, context }`) is JSON: it is what the shared state stores, in memory or on Redis, and
 * `providerStep` is a pure function of it.
 */
import { assign, setup } from 'xstate';
import { snapshotStep } from './step.js';

export interface ProviderContext {
  /** When the cooldown ends (`coolingDown`). */
  readonly until: number | null;
  /**
   * The session probing (`probing`); when its probe lapses (its session's run deadline, at most
   * `probeAcceptedAt`); and when it counts as accepted (`PROBE_ACCEPTED_MS` after it started).
   * A snapshot stored by an older version has no `probeAcceptedAt`: its lapse opens the provider.
   */
  readonly probe: string | null;
  readonly probeLapsesAt: number | null;
  readonly probeAcceptedAt?: number | null;
  /** Cooldowns so far (a counter for metrics). */
  readonly cooldowns: number;
}

export type ProviderMachineEvent =
  | { readonly type: 'provider.rateLimited'; readonly now: number; readonly retryAfterMs?: number }
  | { readonly type: 'provider.tick'; readonly now: number }
  | {
      readonly type: 'provider.probe';
      readonly now: number;
      readonly sessionId: string;
      readonly lapsesAt: number;
    }
  | { readonly type: 'provider.answered'; readonly now: number; readonly sessionId: string }
  | { readonly type: 'provider.probeEnded'; readonly now: number; readonly sessionId: string };

export type ProviderStateValue = 'open' | 'coolingDown' | 'probing';

/** The stored snapshot: plain JSON. */
export interface ProviderSnapshot {
  readonly value: ProviderStateValue;
  readonly context: ProviderContext;
}

/** The pause after a 429 that carries no hint, in ms. */
export const DEFAULT_COOLDOWN_MS = 1000;

/** A probe not refused within this many ms was accepted: the provider opens. */
export const PROBE_ACCEPTED_MS = 2000;

const cooldownUntil = (event: ProviderMachineEvent) => {
  const e = event as Extract<ProviderMachineEvent, { type: 'provider.rateLimited' }>;
  return e.now + Math.max(0, e.retryAfterMs ?? DEFAULT_COOLDOWN_MS);
};

const isProbe = (context: ProviderContext, event: ProviderMachineEvent) =>
  'sessionId' in event && event.sessionId === context.probe;

/**
 * Accepted at `now` only if its session was still running at its acceptance time: a probe whose
 * run deadline came first lapsed, however late that end or a tick is told (a simulated clock tells
 * both at the end of an advance). Stored by an older version (no `probeAcceptedAt`): at its lapse.
 */
const probeAccepted = (context: ProviderContext, now: number) => {
  const lapsesAt = context.probeLapsesAt ?? Number.POSITIVE_INFINITY;
  const acceptedAt = context.probeAcceptedAt ?? lapsesAt;
  return now >= acceptedAt && lapsesAt >= acceptedAt;
};

export const providerMachine = setup({
  // Stryker disable next-line ObjectLiteral: type-only; setup() does nothing with it at runtime.
  types: {
    context: {} as ProviderContext,
    events: {} as ProviderMachineEvent,
  },
  actions: {
    startCooldown: assign({
      until: ({ event }) => cooldownUntil(event),
      probe: null,
      probeLapsesAt: null,
      probeAcceptedAt: null,
      cooldowns: ({ context }) => context.cooldowns + 1,
    }),
    extendCooldown: assign({
      until: ({ context, event }) => Math.max(context.until ?? 0, cooldownUntil(event)),
    }),
    takeProbe: assign({
      probe: ({ event }) => (event as Extract<ProviderMachineEvent, { type: 'provider.probe' }>).sessionId,
      probeLapsesAt: ({ event }) =>
        Math.min(
          (event as Extract<ProviderMachineEvent, { type: 'provider.probe' }>).lapsesAt,
          event.now + PROBE_ACCEPTED_MS,
        ),
      probeAcceptedAt: ({ event }) => event.now + PROBE_ACCEPTED_MS,
    }),
    dropProbe: assign({ probe: null, probeLapsesAt: null, probeAcceptedAt: null }),
    clear: assign({ until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null }),
  },
  guards: {
    cooldownOver: ({ context, event }) => event.now >= (context.until ?? Number.NEGATIVE_INFINITY),
    noProbe: ({ context }) => context.probe === null,
    isProbe: ({ context, event }) => isProbe(context, event),
    probeLapsed: ({ context, event }) => event.now >= (context.probeLapsesAt ?? Number.POSITIVE_INFINITY),
    probeAccepted: ({ context, event }) => probeAccepted(context, event.now),
    isAcceptedProbe: ({ context, event }) => isProbe(context, event) && probeAccepted(context, event.now),
  },
}).createMachine({
  id: 'provider',
  initial: 'open',
  context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 0 },
  states: {
    open: {
      on: { 'provider.rateLimited': { target: 'coolingDown', actions: 'startCooldown' } },
    },
    coolingDown: {
      on: {
        'provider.rateLimited': { actions: 'extendCooldown' },
        // Stryker disable next-line StringLiteral: a no-op kept for the chart; every way into coolingDown clears the probe.
        'provider.tick': { guard: 'cooldownOver', target: 'probing', actions: 'dropProbe' },
      },
    },
    probing: {
      on: {
        'provider.rateLimited': { target: 'coolingDown', actions: 'startCooldown' },
        'provider.probe': { guard: 'noProbe', actions: 'takeProbe' },
        'provider.answered': { guard: 'isProbe', target: 'open', actions: 'clear' },
        // An end told at or past the acceptance of a probe still running then opens, as a tick would.
        'provider.probeEnded': [
          { guard: 'isAcceptedProbe', target: 'open', actions: 'clear' },
          { guard: 'isProbe', actions: 'dropProbe' },
        ],
        'provider.tick': [
          { guard: 'probeAccepted', target: 'open', actions: 'clear' },
          { guard: 'probeLapsed', actions: 'dropProbe' },
        ],
      },
    },
  },
});

export type ProviderMachine = typeof providerMachine;

export const initialProviderSnapshot = (): ProviderSnapshot => ({
  value: 'open',
  context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 0 },
});

const step = snapshotStep(providerMachine);

/** One transition of the provider machine, as a pure function of its plain snapshot. */
export function providerStep(snapshot: ProviderSnapshot, event: ProviderMachineEvent): ProviderSnapshot {
  // Answers that change nothing are the common case: no XState work for them.
  // Stryker disable next-line ConditionalExpression,StringLiteral: a shortcut; open handles no other event.
  if (snapshot.value === 'open' && event.type !== 'provider.rateLimited') return snapshot;
  const next = step(providerMachine.resolveState(snapshot), event);
  return { value: next.value as ProviderStateValue, context: next.context };
}

/**
 * Whether the provider lets a session start at `now`: `'go'`, `'probe'` (it may, as the probe),
 * or when it may look again (`at`: the cooldown's end, or the probe's lapse; `probe`: the session
 * probing, whose end may open the provider sooner).
 */
export function providerGate(
  snapshot: ProviderSnapshot,
  now: number,
):
  | { readonly kind: 'go' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'wait'; readonly at: number | null; readonly probe?: string } {
  const s = providerStep(snapshot, { type: 'provider.tick', now });
  if (s.value === 'open') return { kind: 'go' };
  if (s.value === 'coolingDown') return { kind: 'wait', at: s.context.until };
  const probe = s.context.probe;
  return probe === null ? { kind: 'probe' } : { kind: 'wait', at: s.context.probeLapsesAt, probe };
}
