/**
 * The `openai` SDK and undici load on a provider's first call, or when `preloadSdk` asks (serve and
 * stdio, once they answer), not when a provider is made: until 2026-12-07 a start with a key set
 * loaded both, a few hundred ms of CPU before /healthz answered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
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

  it('makes its clients with the settings given at creation, whatever the options object became since', async () => {
    const options = {
      name: 'gw',
      apiKey: KEY,
      baseURL: server.baseURL,
      defaultHeaders: { 'x-team': 'first' } as Record<string, string>,
    };
    const provider = createOpenAICompatibleProvider(options);
    // Changed before the first call, which makes the clients: the key and headers it was made with go.
    options.apiKey = 'sk-changed-0123456789abcdef';
    options.defaultHeaders['x-team'] = 'second';
    await provider.complete(
      { model: 'gw-model', messages: [{ role: 'user', content: 'settings' }] },
      { signal: new AbortController().signal },
    );
    const sent = server.requests.at(-1);
    expect(sent?.authorized).toBe(true);
    expect(sent?.headers['x-team']).toBe('first');
    await provider.close();
  });
});
