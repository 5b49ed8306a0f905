/**
 * Circuit breakers, as properties over random call histories (issue 15): an open breaker admits
 * only its probe; it opens exactly when the documented number of failures falls within the
 * window; the probe's answer closes it and its failure opens it again; a call that told nothing
 * (cancelled, or cut short by its own deadline) changes nothing but a probe's turn.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TroupeError } from '../../src/core/errors.js';
import { type BreakerPass, Breakers } from '../../src/runtime/breakers.js';
import { MemorySharedState } from '../../src/runtime/memory-state.js';
import { ManualClock } from '../support/manual-clock.js';

const SETTINGS = { failures: 3, windowMs: 1000, openMs: 500, probeTimeoutMs: 2000, minTimeoutMs: 100 };

/** A call's end as the gate reports it: a timeout after the provider was silent long enough to count. */
const ended = (failure: string | null, silentMs = 60_000) => ({
  failure,
  aborted: failure === 'TIMED_OUT',
  silentMs,
});
// 300 runs in `npm test`; the mutation run (`gates` group) sets fewer per mutant.
const numRuns = Number(process.env.TROUPE_PROPERTY_RUNS ?? 300);

type Op =
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'call' }
  | {
      readonly kind: 'end';
      readonly which: number;
      readonly failure: string | null;
      /** Ended here (cancelled, or its own deadline) and how long the provider was silent: maybe telling nothing. */
      readonly aborted: boolean;
      readonly silentMs: number;
    };

// Failures are the likeliest ending, so histories reach open and half-open often.
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 900 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('call' as const) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('end' as const),
      which: fc.nat(20),
      failure: fc.constantFrom(
        'NETWORK',
        'PROVIDER_UNAVAILABLE',
        'TIMED_OUT',
        null,
        'RATE_LIMITED',
        'AUTH_FAILED',
      ),
      aborted: fc.boolean(),
      silentMs: fc.constantFrom(1, 99, 100, 5000),
    }),
    weight: 2,
  },
);

function setup() {
  const clock = new ManualClock();
  const state = new MemorySharedState(clock);
  const errors: unknown[] = [];
  const breakers = new Breakers(state, SETTINGS, clock, (e) => errors.push(e));
  const stored = () =>
    state.readNow<{ value: string; context: { openUntil: number | null; probeUntil: number | null } }>(
      'breaker:p',
    );
  return { clock, breakers, stored, errors };
}

describe('circuit breaker properties', () => {
  it('an open breaker admits only its probe, one at a time until it is presumed lost', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) => {
        const { clock, breakers, stored, errors } = setup();
        const out: BreakerPass[] = [];
        for (const step of ops) {
          if (step.kind === 'wait') clock.time += step.ms;
          else if (step.kind === 'end') {
            const pass = out.splice(step.which % Math.max(1, out.length), 1)[0];
            if (pass !== undefined) breakers.report(pass, step);
          } else {
            const before = stored();
            const verdict = breakers.admit('p') as BreakerPass | TroupeError;
            const admitted = !(verdict instanceof Error);
            if (before !== undefined && before.value !== 'closed') {
              // Not closed: whatever passes is a probe, and only when the state allowed one.
              if (admitted) {
                expect((verdict as BreakerPass).probe).not.toBeNull();
                if (before.value === 'open')
                  expect(clock.time).toBeGreaterThanOrEqual(before.context.openUntil as number);
                else expect(clock.time).toBeGreaterThanOrEqual(before.context.probeUntil as number);
              } else {
                expect((verdict as TroupeError).code).toBe('PROVIDER_UNAVAILABLE');
                expect((verdict as TroupeError).retryable).toBe(false);
                expect((verdict as TroupeError).message).toMatch(/until \d{4}-\d\d-\d\dT/);
              }
            } else {
              expect(admitted).toBe(true);
              expect((verdict as BreakerPass).probe).toBeNull();
            }
            if (admitted) out.push(verdict as BreakerPass);
          }
        }
        expect(errors).toEqual([]);
      }),
      { numRuns },
    );
  });

  it('opens exactly at the threshold of failures within the window, never on other errors', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 800 }),
            failure: fc.constantFrom(
              null,
              'NETWORK',
              'PROVIDER_UNAVAILABLE',
              'RATE_LIMITED',
              'INVALID_REQUEST',
            ),
          }),
          { minLength: 10, maxLength: 40 },
        ),
        (calls) => {
          const { clock, breakers, stored } = setup();
          const failures: number[] = [];
          for (const call of calls) {
            clock.time += call.gap;
            if (stored()?.value === 'open') return; // from here the first property covers it
            const pass = breakers.admit('p') as BreakerPass;
            breakers.report(pass, ended(call.failure));
            if (call.failure === 'NETWORK' || call.failure === 'PROVIDER_UNAVAILABLE')
              failures.push(clock.time);
            const inWindow = failures.filter((at) => at > clock.time - SETTINGS.windowMs).length;
            expect(stored()?.value ?? 'closed').toBe(inWindow >= SETTINGS.failures ? 'open' : 'closed');
          }
        },
      ),
      { numRuns },
    );
  });

  it("the probe's answer closes it; the probe's failure opens it again for openMs", () => {
    const { clock, breakers, stored } = setup();
    for (let i = 0; i < 3; i++) breakers.report(breakers.admit('p') as BreakerPass, ended('NETWORK'));
    expect(stored()?.value).toBe('open');
    clock.time += SETTINGS.openMs;
    const probe = breakers.admit('p') as BreakerPass;
    expect(probe.probe).toBe(1);
    expect(breakers.admit('p')).toBeInstanceOf(Error);
    breakers.report(probe, ended('TIMED_OUT'));
    expect(stored()).toMatchObject({ value: 'open', context: { openUntil: clock.time + SETTINGS.openMs } });
    clock.time += SETTINGS.openMs;
    const second = breakers.admit('p') as BreakerPass;
    breakers.report(second, ended('AUTH_FAILED')); // the provider answered: it is up
    expect(stored()?.value).toBe('closed');
    expect(breakers.views()).toEqual([
      expect.objectContaining({ provider: 'p', state: 'closed', opened: 2, failures: 0, threshold: 3 }),
    ]);
  });
});
