/**
 * A never-settling adapter under `isolation`, a property whose cases shrink: each smaller case waits
 * out the harness's 5 s settle bound again, so shrinking took 30 to 61 s (past vitest's 60 s test
 * timeout in a planted-bug suite) before 2026-12-07. Now the first slow failure ends the run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { ProviderContractError } from '../../../src/testing/contract/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { createPlainAdapter } from '../../support/plain-adapter.js';

const KEY = 'sk-mutant-0123456789abcdef';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(async () => {
  await server.close();
});

it('fails a never-settling adapter’s isolation within one settle bound, unshrunk, with its seed and why', async () => {
  const adapter = createPlainAdapter({ baseURL: server.baseURL, apiKey: KEY, bug: 'never-settles' });
  const started = Date.now();
  const outcome = await checkProviderContract(adapter, {
    server,
    apiKey: KEY,
    numRuns: 10,
    seed: 42,
    only: ['isolation'],
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  const tookMs = Date.now() - started;
  expect(outcome).toBeInstanceOf(ProviderContractError);
  const error = outcome as ProviderContractError;
  const failure = error.failures.find((f) => f.property === 'isolation');
  expect(failure?.shrinks).toBe(0);
  expect(failure?.message).toMatch(
    /^Expected call #\d to get its own answer .*, got (""|"\(no answer in 5 s\)") \(\d calls at once\) \(not shrunk: this case took \d+\.\d s to fail, and each smaller one would take as long\)$/,
  );
  expect(error.message).toContain('seed 42');
  expect(error.message).toContain('this case alone: { seed: 42, only: ["isolation"], path: "0" }');
  // One settle bound (5 s) and the server's latencies; each shrink took another 5 s before.
  expect(tookMs).toBeLessThan(12_000);
}, 60_000);
