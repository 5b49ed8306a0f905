/**
 * What `checkRuntimeProperties` throws when the runtime property broke: the invariants broken, the
 * seed and path to replay the case, and fast-check's report. A run of your providers (or on a
 * backend) is on the real clock: a call of yours that never ends fails its run only once a deadline
 * ran out, and shrinking replayed each smaller case as slowly, one after another (seed 1 with such
 * a provider: 28 shrinks in 100 s, until 2026-12-07). As the contract suites do (`slow-failure.ts`),
 * once a run failed slowly shrinking stops, and the failure says so and how to shrink anyway.
 */
import type { RunDetails } from 'fast-check';
import type { FastCheck } from './fast-check.js';
import type { SlowFailureStop } from './slow-failure.js';

export function runtimePropertyFailure(
  fc: FastCheck,
  details: RunDetails<[unknown, unknown]>,
  slow: SlowFailureStop<[unknown, unknown]>,
): Error {
  // fast-check 4 leaves the predicate's error out of its report: say what broke (the invariants
  // and their details) before the shrunk case, and keep the error as the cause.
  const error = details.errorInstance;
  const broken = error instanceof Error ? error.message : String(error);
  const replayPath = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[1] ?? ''))?.[1];
  const replay = `{ seed: ${details.seed}, path: ${JSON.stringify(details.counterexamplePath)}${replayPath === undefined ? '' : `, replayPath: ${JSON.stringify(replayPath)}`} }`;
  const stopped =
    slow.tookMs === undefined
      ? ''
      : `\nShrinking stopped after ${details.numShrinks} shrink(s): this case took ${(slow.tookMs / 1000).toFixed(1)} s to fail, and shrinking runs smaller cases one after another; to shrink it anyway, run fc.assert(runtimeProperty(options), { seed: ${details.seed}, numRuns: ${details.numRuns} }) with runtimeProperty from troupe/testing/properties`;
  return new Error(
    `troupe property failed after ${details.numRuns} runs; replay with seed ${details.seed}, path "${details.counterexamplePath}" (options ${replay})\n${broken}${stopped}\n${fc.defaultReportMessage(details)}`,
    { cause: error },
  );
}
