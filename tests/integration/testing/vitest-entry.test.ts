/**
 * The vitest entry: one call declares one named test per property. Here it declares the eight
 * for the built-in adapter (all must pass); then a user's test file with a mutant adapter is run
 * by vitest in a child process, whose report must name the broken property's test.
 */
import { expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { describeProviderContract } from '../../../src/testing/vitest.js';
import { runVitest } from '../../support/vitest-run.js';

describeProviderContract(
  'built-in OpenAI-compatible adapter',
  (server) =>
    createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: 'sk-entry-0123456789' }),
  { capabilities: { tools: true, thinking: true, files: true }, apiKey: 'sk-entry-0123456789' },
);

it("a user's test report names the broken property", async () => {
  const results = await runVitest('tests/fixtures/contract/vitest.config.ts');
  const failed = results.filter((r) => r.status === 'failed').map((r) => r.title.split(':')[0]);
  expect(failed).toEqual(['errorsMapped']);
  expect(results.filter((r) => r.status === 'passed')).toHaveLength(7);
  const message = results.find((r) => r.status === 'failed')?.failureMessages[0] ?? '';
  expect(message).toMatch(/errorsMapped: Expected .* to reject with a TroupeError/);
  expect(message).toMatch(/replay with \{ seed: \d+, numRuns: \d+ \}/);
}, 120_000);
