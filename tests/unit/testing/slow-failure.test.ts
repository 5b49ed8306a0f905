/**
 * Shrinking stopped after a slow failure (`slow-failure.ts`): a case that failed only once a bound
 * ran out is reported unshrunk, saying why, while a quick failure still shrinks as before.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { stopAfterSlowFailure } from '../../../src/testing/slow-failure.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

it('stops shrinking once a run failed slowly, and says so', async () => {
  const slow = stopAfterSlowFailure<[number]>(fc, 30);
  let runs = 0;
  const details = await fc.check(
    fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), async (n) => {
      runs += 1;
      if (n < 100) return;
      // Fails only once its "bound" ran out, as a never-settling adapter does.
      await sleep(40);
      throw new Error(`Expected ${n} to settle`);
    }),
    { seed: 7, numRuns: 50, plugins: [slow.plugin] },
  );
  expect(details.failed).toBe(true);
  expect(details.numShrinks).toBe(0);
  expect(details.interrupted).toBe(true);
  expect(details.counterexample?.[0]).toBeGreaterThanOrEqual(100);
  // The failing run and nothing after it.
  expect(runs).toBe(details.numRuns);
  expect(slow.tookMs).toBeGreaterThanOrEqual(30);
  expect(slow.note('Expected 512 to settle')).toMatch(
    /^Expected 512 to settle \(not shrunk: this case took \d+\.\d s to fail, and each smaller one would take as long\)$/,
  );
});

it('says how far it shrank when a smaller case was the slow one', async () => {
  const slow = stopAfterSlowFailure<[number]>(fc, 30);
  const details = await fc.check(
    fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), async (n) => {
      if (n < 100) return;
      // Large cases fail at once; smaller ones only once their "bound" ran out.
      if (n < 500) await sleep(40);
      throw new Error(`Expected ${n} to settle`);
    }),
    { seed: 7, numRuns: 50, plugins: [slow.plugin] },
  );
  expect(details.failed).toBe(true);
  expect(details.interrupted).toBe(true);
  expect(details.numShrinks).toBeGreaterThan(0);
  const found = details.counterexample?.[0] ?? -1;
  expect(found).toBeGreaterThanOrEqual(100);
  expect(found).toBeLessThan(500);
  expect(slow.note('Expected 120 to settle')).toBe(
    `Expected 120 to settle (shrunk ${details.numShrinks} time(s), then stopped: this smaller case took ${((slow.tookMs ?? 0) / 1000).toFixed(1)} s to fail, and each smaller one would take as long)`,
  );
});

it('leaves a quick failure to shrink, and its message as it is', async () => {
  const slow = stopAfterSlowFailure<[number]>(fc, 30);
  const details = await fc.check(
    fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), async (n) => {
      if (n >= 100) throw new Error(`Expected ${n} below 100`);
    }),
    { seed: 7, numRuns: 50, plugins: [slow.plugin] },
  );
  expect(details.failed).toBe(true);
  expect(details.counterexample).toEqual([100]);
  expect(details.numShrinks).toBeGreaterThan(0);
  expect(details.interrupted).toBe(false);
  expect(slow.tookMs).toBeUndefined();
  expect(slow.note('Expected 100 below 100')).toBe('Expected 100 below 100');
});

it('counts a slow run that held, or was skipped, as no slow failure', async () => {
  const slow = stopAfterSlowFailure<[number]>(fc, 10);
  const details = await fc.check(
    fc.asyncProperty(fc.integer({ min: 0, max: 3 }), async (n) => {
      await sleep(15);
      fc.pre(n !== 0);
    }),
    { seed: 7, numRuns: 5, plugins: [slow.plugin] },
  );
  expect(details.failed).toBe(false);
  expect(slow.tookMs).toBeUndefined();
});

it('keeps a synchronous property synchronous', () => {
  const slow = stopAfterSlowFailure<[number]>(fc, 0);
  const details = fc.check(
    fc.property(fc.integer({ min: 0, max: 1000 }), (n) => n < 100),
    { seed: 7, numRuns: 50, plugins: [slow.plugin] },
  );
  expect(details.failed).toBe(true);
  expect(details.numShrinks).toBe(0);
  expect(slow.tookMs).toBeGreaterThanOrEqual(0);
});
