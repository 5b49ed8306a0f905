/**
 * `snapshotStep` (machines/step.ts): the breaker's and a provider's cooldown steps through the
 * machine's own `transition` with one scope made at load, where XState's `transition` makes an
 * actor a step. The same snapshots as XState's own `transition` over random event sequences, and
 * no development-build warning when a step runs inside an XState actor's action.
 */
import fc from 'fast-check';
import { afterEach, expect, it, vi } from 'vitest';
import { createActor, setup, transition } from 'xstate';
import {
  type BreakerEvent,
  type BreakerSnapshot,
  breakerMachine,
  initialBreaker,
  stepBreaker,
} from '../../../machines/breaker.js';
import {
  initialProviderSnapshot,
  type ProviderMachineEvent,
  type ProviderSnapshot,
  providerMachine,
  providerStep,
} from '../../../machines/provider.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const SETTINGS = { failures: 2, windowMs: 1_000, openMs: 500, probeTimeoutMs: 2_000 };

/** Events at times that only go forward, as every writer of a stored snapshot sends them. */
const timed = <E>(event: fc.Arbitrary<(now: number) => E>) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: 1_500 }), event), { maxLength: 40 }).map((steps) => {
    let now = 0;
    return steps.map(([gap, make]) => {
      now += gap;
      return make(now);
    });
  });

const probe = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null });
const breakerEvents = timed<BreakerEvent>(
  fc.oneof(
    fc.constant((now: number) => ({ type: 'breaker.request', now }) as const),
    probe.map((p) => (now: number) => ({ type: 'breaker.success', now, probe: p }) as const),
    probe.map((p) => (now: number) => ({ type: 'breaker.void', now, probe: p }) as const),
    probe.map((p) => (now: number) => ({ type: 'breaker.failure', now, code: 'NETWORK', probe: p }) as const),
  ),
);
const session = fc.constantFrom('s1', 's2');
const providerEvents = timed<ProviderMachineEvent>(
  fc.oneof(
    fc
      .option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined })
      .map(
        (after) => (now: number) =>
          after === undefined
            ? ({ type: 'provider.rateLimited', now } as const)
            : ({ type: 'provider.rateLimited', now, retryAfterMs: after } as const),
      ),
    fc.constant((now: number) => ({ type: 'provider.tick', now }) as const),
    fc.tuple(session, fc.integer({ min: 0, max: 5_000 })).map(
      ([id, lapse]) =>
        (now: number) =>
          ({ type: 'provider.probe', now, sessionId: id, lapsesAt: now + lapse }) as const,
    ),
    session.map((id) => (now: number) => ({ type: 'provider.answered', now, sessionId: id }) as const),
    session.map((id) => (now: number) => ({ type: 'provider.probeEnded', now, sessionId: id }) as const),
  ),
);

it('steps the breaker and the provider’s cooldown to the same snapshots as XState’s own `transition`', () => {
  fc.assert(
    fc.property(breakerEvents, providerEvents, (breaker, provider) => {
      let mine: BreakerSnapshot = initialBreaker(SETTINGS);
      let theirs: BreakerSnapshot = mine;
      for (const event of breaker) {
        mine = stepBreaker(mine, event);
        const [next] = transition(breakerMachine, breakerMachine.resolveState(theirs), event);
        theirs = { value: next.value as BreakerSnapshot['value'], context: next.context };
        expect(mine).toEqual(theirs);
      }
      let ours: ProviderSnapshot = initialProviderSnapshot();
      let xstate: ProviderSnapshot = ours;
      for (const event of provider) {
        ours = providerStep(ours, event);
        const [next] = transition(providerMachine, providerMachine.resolveState(xstate), event);
        xstate = { value: next.value as ProviderSnapshot['value'], context: next.context };
        expect(ours).toEqual(xstate);
      }
    }),
    { numRuns: 300 },
  );
});

it('steps both machines inside an XState actor’s own action without a development-build warning', () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const seen: string[] = [];
  const host = setup({
    actions: {
      step: () => {
        const open = stepBreaker(stepBreaker(initialBreaker(SETTINGS), failure(1)), failure(2));
        seen.push(
          open.value,
          providerStep(initialProviderSnapshot(), { type: 'provider.rateLimited', now: 3 }).value,
        );
      },
    },
  }).createMachine({ on: { go: { actions: 'step' } } });
  const actor = createActor(host).start();
  actor.send({ type: 'go' });
  actor.stop();
  expect(seen).toEqual(['open', 'coolingDown']);
  expect(warn).not.toHaveBeenCalled();
});

function failure(now: number): BreakerEvent {
  return { type: 'breaker.failure', now, code: 'NETWORK', probe: null };
}
