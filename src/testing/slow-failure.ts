/**
 * Shrinking stopped after a slow failure. A case that failed only once a bound ran out (a call
 * still pending after the harness's 5 s, a stream with no end) fails each smaller case the same
 * slow way: fast-check tried each in turn, so the provider contract's `isolation` took 30 to 61 s
 * to shrink a never-settling adapter, past vitest's 60 s test timeout, and a user's suite failed
 * with a timeout and no message. Once a run has failed slowly, the runs left are interrupted
 * (fast-check's plugin `decorateRun`, with its interrupting precondition): the property fails
 * with that case, unshrunk, and says why.
 */
import type { IRawProperty, Plugin } from 'fast-check';
import type { FastCheck } from './fast-check.js';

/** A failing run at least this long failed on a bound, not on what it was given. */
export const SLOW_FAILURE_MS = 2000;

type Run<Ts> = IRawProperty<Ts, boolean>['run'];
type Outcome = Awaited<ReturnType<Run<unknown>>>;

export interface SlowFailureStop<Ts> {
  /** For `fc.check`'s `plugins`. */
  readonly plugin: Plugin<Ts>;
  /** How long the slow failure took, once one did. */
  readonly tookMs: number | undefined;
  /** `message`, saying why its case was not shrunk when a slow failure stopped the shrinking. */
  note(message: string): string;
}

export function stopAfterSlowFailure<Ts>(fc: FastCheck, slowMs = SLOW_FAILURE_MS): SlowFailureStop<Ts> {
  let tookMs: number | undefined;
  // Failing runs before the slow one: the first failing run is the case found, later ones are
  // its shrinks, so a slow failure after any was found partway through shrinking.
  let failedBefore = 0;
  const failed = (result: Outcome): boolean => result !== null && !fc.PreconditionFailure.isFailure(result);
  const decorateRun =
    (nestedRun: Run<Ts>): Run<Ts> =>
    (value) => {
      // `true`: interrupt the run (here, the shrinking) rather than skip this case.
      if (tookMs !== undefined) return new fc.PreconditionFailure(true);
      const started = Date.now();
      const outcome = nestedRun(value);
      const settle = (result: Outcome) => {
        const ms = Date.now() - started;
        if (failed(result)) {
          if (ms >= slowMs) tookMs = ms;
          else failedBefore += 1;
        }
        return result;
      };
      // A synchronous run must stay so (fast-check's rule for `decorateRun`).
      return outcome !== null && 'then' in outcome ? outcome.then(settle) : settle(outcome as Outcome);
    };
  return {
    plugin: () => ({ decorateRun }),
    get tookMs() {
      return tookMs;
    },
    note(message) {
      if (tookMs === undefined) return message;
      const took = `${(tookMs / 1000).toFixed(1)} s to fail, and each smaller one would take as long`;
      return failedBefore === 0
        ? `${message} (not shrunk: this case took ${took})`
        : `${message} (shrunk ${failedBefore} time(s), then stopped: this smaller case took ${took})`;
    },
  };
}
