/**
 * The `openai` SDK and undici load on a provider's first call, or when `preloadSdk` asks (serve and
 * stdio, once they answer), not when a provider is made: until 2026-12-07 a start with a key set
 * loaded both, a few hundred ms of CPU before /healthz answered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import { preloadSdk } from '../../../src/providers/sdk-clients.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const loads = vi.hoisted(() => ({ sdk: 0, undici: 0 }));
vi.mock('openai', async (importOriginal) => {
  loads.sdk += 1;
  return importOriginal();
});
vi.mock('../../../src/providers/undici-fetch.js', async (importOriginal) => {
  loads.undici += 1;
  return importOriginal();
});

const KEY = 'sk-lazy-sdk-0123456789abcdef';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(() => server.close());

describe('loading the SDK', () => {
  it('waits for the first call: making a provider loads neither the SDK nor undici', async () => {
    const provider = createKimiProvider({ apiKey: KEY, baseURL: server.baseURL });
    expect(loads).toEqual({ sdk: 0, undici: 0 });
    const answer = await provider.complete(
      { model: 'moonshot-v1-8k', messages: [{ role: 'user', content: 'hi' }] },
      { signal: new AbortController().signal },
    );
    expect(answer.content.length).toBeGreaterThan(0);
    expect(loads).toEqual({ sdk: 1, undici: 1 });
    // Loaded once for every provider and call.
    await preloadSdk();
    const other = createKimiProvider({ apiKey: KEY, baseURL: server.baseURL });
    await other.complete(
      { model: 'moonshot-v1-8k', messages: [{ role: 'user', content: 'again' }] },
      { signal: new AbortController().signal },
    );
    expect(loads).toEqual({ sdk: 1, undici: 1 });
    await provider.close();
    await other.close();
  });
});
