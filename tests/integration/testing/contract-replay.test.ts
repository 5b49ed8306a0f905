/**
 * A provider contract failure prints, for each broken property, `this case alone: { seed, only,
 * path }`; passed back to `checkProviderContract`, the run starts at that shrunk case. Until
 * 2026-12-07 the contract printed a path it did not take: only the seed replayed, every case
 * before the failing one run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { ProviderContractError } from '../../../src/testing/contract/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { withErrors } from '../../support/error-wrap.js';
import { createPlainAdapter } from '../../support/plain-adapter.js';

const KEY = 'sk-replay-0123456789abcdef';

let server: OpenAIServer;
beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(() => server.close());

/**
 * The plain adapter, but a `Retry-After` of a minute or more is dropped (an adapter that caps the
 * hints it believes): the fixed cases carry 7 s and 1 s, so only a drawn one breaks it, and it
 * shrinks to 60.
 */
function capsHints(): ChatProvider {
  const adapter = createPlainAdapter({ baseURL: server.baseURL, apiKey: KEY });
  const cap = (error: unknown) => {
    if (error instanceof Error && ((error as { retryAfterMs?: number }).retryAfterMs ?? 0) >= 60_000)
      Object.defineProperty(error, 'retryAfterMs', { value: undefined });
    return error;
  };
  return withErrors(adapter, cap);
}

const failureOf = async (run: Promise<unknown>) => {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderContractError);
  return error as ProviderContractError;
};

describe('checkProviderContract replays a printed case', () => {
  it('takes the `{ seed, only, path }` a failure prints and starts at that shrunk case', async () => {
    const options = { server, apiKey: KEY, only: ['errorsMapped' as const], numRuns: 60, seed: 11 };
    const first = await failureOf(checkProviderContract(capsHints(), options));
    const failure = first.failures[0];
    expect(failure?.message).toMatch(/\(Retry-After: 60\) to carry retryAfterMs 60000, got undefined/);
    expect(failure?.path).toMatch(/^\d+:/);
    expect(first.message).toContain(
      `    this case alone: { seed: 11, only: ["errorsMapped"], path: ${JSON.stringify(failure?.path)} }`,
    );
    // The cases before it are not run again: no request for them reaches the server.
    const before = server.requests.length;
    const again = await failureOf(checkProviderContract(capsHints(), { ...options, path: failure?.path }));
    expect(again.failures[0]?.counterexample).toBe(failure?.counterexample);
    expect(again.failures[0]?.message).toBe(failure?.message);
    expect(server.requests.length - before).toBeLessThan(5);
  }, 90_000);
});
