/**
 * The vitest entry's tool contract: one call declares one named test per property. Here it declares
 * the five for a correct tool over Streamable HTTP (all must pass); then a user's test file with a
 * planted bug is run by vitest in a child process, whose report must name the broken property's
 * test, with the seed to replay it.
 */
import { expect, it } from 'vitest';
import { describeToolContract } from '../../../src/testing/vitest.js';
import { registerLookup } from '../../support/tool-handlers.js';
import { runVitest } from '../../support/vitest-run.js';

describeToolContract('lookup on a timer', {
  register: registerLookup(),
  args: { word: 'troupe', delay_ms: 80 },
  numRuns: 3,
  transport: 'http',
  requireProgress: true,
});

it('refuses a misspelt or bad option where the block is declared', () => {
  const register = registerLookup();
  expect(() => describeToolContract('mine', { register, timeoutMs: 0 })).toThrow(
    /Expected `timeoutMs` in `describeToolContract options` to be a number of ms above 0/,
  );
  expect(() => describeToolContract('mine', { register, transport: 'stdio' } as never)).toThrow(
    /Expected `transport` in `describeToolContract options` to be 'memory' or 'http', got "stdio"/,
  );
  expect(() => describeToolContract('mine', { register, requireProgres: true } as never)).toThrow(
    /got `requireProgres`/,
  );
});

it('a user’s test report names the broken property, with the seed', async () => {
  const results = await runVitest('tests/fixtures/tool-contract/vitest.config.ts');
  const failed = results.filter((r) => r.status === 'failed').map((r) => r.title.split(':')[0]);
  expect(failed).toEqual(['disconnectEnds']);
  expect(results.filter((r) => r.status === 'passed')).toHaveLength(4);
  const message = results.find((r) => r.status === 'failed')?.failureMessages[0] ?? '';
  expect(message).toMatch(/disconnectEnds: Expected the handler to settle within 100 ms/);
  expect(message).toMatch(/seed \d+, 5 runs a property; replay with \{ seed: \d+, numRuns: 5 \}/);
}, 120_000);
