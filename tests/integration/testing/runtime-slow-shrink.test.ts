/**
 * `checkRuntimeProperties` stops shrinking once a run failed slowly (`property-failure.ts`), as the
 * contract suites do. A provider of yours that never ends a call, abort or not, fails each run only
 * once its session's deadline ran out: with seed 1 fast-check shrank the case 28 times in 100 s
 * (until 2026-12-07), each smaller case as slow. A quick failure still shrinks.
 */
import { expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { checkRuntimeProperties } from '../../../src/testing/model.js';

/** Never answers and never hears its signal: `callsReleased` breaks once a session ends. */
const deaf: ChatProvider = {
  name: 'p0',
  complete: () => new Promise(() => {}),
  async *stream() {
    await new Promise(() => {});
  },
};

const failureOf = (options: Parameters<typeof checkRuntimeProperties>[0]) =>
  checkRuntimeProperties(options).then(
    () => new Error('Expected the property to fail, got a pass'),
    (error: Error) => error,
  );

it('fails a run that broke slowly as found, not shrunk further, with its seed and how to shrink it', async () => {
  const started = Date.now();
  const error = await failureOf({ providers: [deaf], contract: false, numRuns: 5, seed: 1, maxCommands: 10 });
  const tookMs = Date.now() - started;
  expect(error.message).toMatch(/^troupe property failed after \d+ runs; replay with seed 1, path "[\d:]+"/);
  expect(error.message).toContain('callsReleased: provider call');
  expect(error.message).toMatch(
    /\nShrinking stopped after \d+ shrink\(s\): this case took \d+\.\d s to fail, and shrinking runs smaller cases one after another; to shrink it anyway, run fc\.assert\(runtimeProperty\(options\), \{ seed: 1, numRuns: \d+ \}\) with runtimeProperty from troupe\/testing\/properties\n/,
  );
  // One run's deadlines (at most 5 s) and the release bound; shrinking took 100 s before.
  expect(tookMs).toBeLessThan(25_000);
}, 60_000);

it('shrinks a quick failure as before, saying nothing of a stop', async () => {
  const error = await failureOf({
    numRuns: 5,
    seed: 1,
    onEnd: () => {
      throw new Error('Expected the planted check to hold, got a throw');
    },
  });
  expect(error.message).toContain('Expected the planted check to hold, got a throw');
  expect(error.message).toMatch(/Shrunk [1-9]\d* time\(s\)/);
  expect(error.message).not.toContain('Shrinking stopped');
});
