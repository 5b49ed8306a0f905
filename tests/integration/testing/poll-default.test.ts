/**
 * The suite's default for `expect.poll` (tests/support/poll-defaults.ts): a poll without a timeout
 * of its own waits for a condition that comes after vitest's own 1 s, in `npm test` and in the
 * tests Stryker runs.
 */
import { expect, it } from 'vitest';
import type { ViteUserConfig } from 'vitest/config';
import config from '../../../vitest.config.js';
import { expectPoll } from '../../support/poll-defaults.js';

it('waits past vitest’s 1 s for a condition that comes late', async () => {
  let ready = false;
  const timer = setTimeout(() => {
    ready = true;
  }, 1_500);
  const started = performance.now();
  try {
    await expect.poll(() => ready).toBe(true);
  } finally {
    clearTimeout(timer);
  }
  expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
});

it('is the same default in the mutation runs’ config', async () => {
  // Imported by its path: the type check does not follow it into .ci/mutation-groups.mjs (untyped).
  const strykerConfig = new URL('../../../vitest.stryker.config.ts', import.meta.url).href;
  const { default: stryker } = (await import(strykerConfig)) as { default: ViteUserConfig };
  expect(expectPoll.timeout).toBe(10_000);
  expect(config.test?.expect?.poll).toEqual(expectPoll);
  expect(stryker.test?.expect?.poll).toEqual(expectPoll);
});
