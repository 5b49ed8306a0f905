/**
 * The vitest entry: one call declares one named test per property. Here it declares the eight
 * for the built-in adapter (all must pass); then a user's test file with a mutant adapter is run
 * by vitest in a child process, whose report must name the broken property's test; and one with
 * an in-process provider (`server: false`, docs/testing.md's sample), whose report must hold the
 * four properties that need no server and name the four left out.
 */
import { expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
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

it('with `server: false` runs what needs no server, and its title names what it left out', async () => {
  // Until 2026-12-07 the block always started a server and declared every property: a provider
  // that does not speak HTTP (in-process, gRPC) failed requestSent, isolation and errorsMapped.
  const results = await runVitest('tests/fixtures/contract-in-process/vitest.config.ts');
  expect(results.map((r) => [r.title.split(':')[0], r.status])).toEqual([
    ['signalHonoured', 'passed'],
    ['streamContract', 'passed'],
    ['resultShape', 'passed'],
    ['requestUntouched', 'passed'],
  ]);
  expect(results[0]?.ancestorTitles).toEqual([
    'provider contract: my in-process provider; not checked: requestSent, isolation, errorsMapped, capabilities (needs `server` (a createOpenAIServer() the provider points at))',
  ]);
}, 120_000);

it('refuses a `server` that is neither a server nor `false`, where the block is declared', () => {
  expect(() =>
    describeProviderContract('x', () => createSimulatedProvider(), { server: true } as never),
  ).toThrow(
    'Expected `server` in `describeProviderContract options` to be a createOpenAIServer() or false, got true',
  );
});

// Types only, never called: with `server: false` the factory gets no server to point at.
function typesOnly() {
  // @ts-expect-error: no server to hand it
  describeProviderContract('x', (server) => createSimulatedProvider({ name: server.baseURL }), {
    server: false,
  });
  describeProviderContract('x', () => createSimulatedProvider(), { server: false });
}
void typesOnly;
