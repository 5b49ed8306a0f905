/**
 * errorsMapped with `apiKey` given looks for that key (docs/testing.md, "Options"): a credential the
 * adapter masked its own way is not a leak. Until 2026-12-05 any `Bearer` value of six characters
 * or more but `[redacted]` counted even then, so an adapter whose errors name the request's headers
 * masked as `Bearer ********` or `Bearer <redacted>` failed with "got `Bearer ****…`"; without
 * `apiKey` that rule is still the one there is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { ProviderContractError } from '../../../src/testing/contract/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { withErrors } from '../../support/error-wrap.js';
import { createPlainAdapter } from '../../support/plain-adapter.js';

const KEY = 'sk-masked-0123456789abcdef';

let server: OpenAIServer;
beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(() => server.close());

/** The plain adapter, each of whose errors names the request's headers, the key masked as `mask`. */
function masking(mask: string): ChatProvider {
  const adapter = createPlainAdapter({ baseURL: server.baseURL, apiKey: KEY });
  const tag = (error: unknown) => {
    if (error instanceof Error)
      Object.assign(error, { request: { headers: { authorization: `Bearer ${mask}` } } });
    return error;
  };
  return withErrors(adapter, tag);
}

describe('errorsMapped with the key given', () => {
  for (const mask of ['********', '<redacted>', 'REDACTED'])
    it(`passes errors that carry the key masked as \`Bearer ${mask}\``, async () => {
      const outcome = await checkProviderContract(masking(mask), {
        server,
        apiKey: KEY,
        only: ['errorsMapped'],
        numRuns: 5,
      }).then(
        () => undefined,
        (error: unknown) => (error instanceof ProviderContractError ? error.failures[0]?.message : error),
      );
      expect(outcome).toBeUndefined();
    }, 60_000);

  it('without the key, still counts a Bearer value that is not `[redacted]`', async () => {
    const outcome = await checkProviderContract(masking('********'), {
      server,
      only: ['errorsMapped'],
      numRuns: 5,
    }).catch((error: unknown) => error);
    expect(String((outcome as Error).message)).toMatch(/carry the API key, got `Bearer \*\*\*\*…`/);
  }, 60_000);
});
