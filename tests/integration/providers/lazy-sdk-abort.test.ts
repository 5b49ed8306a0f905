/**
 * A call aborted while the `openai` SDK loads (its provider's first call, a few hundred ms on a
 * busy machine) ends at once, as one aborted in flight does: until 2026-12-07 it waited for the load
 * (the provider contract's `signalHonoured`, aborted before the call, saw it still pending).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

// The SDK's import held until the test lets it go.
const gate = vi.hoisted(() => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open: () => open() };
});
vi.mock('openai', async (importOriginal) => {
  await gate.opened;
  return importOriginal();
});

const KEY = 'sk-lazy-abort-0123456789abcdef';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(() => server.close());

const ask = { model: 'gw-model', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('a call aborted while the SDK loads', () => {
  it('ends at once, whether aborted before the call or during the load; a later call still runs', async () => {
    const provider = createOpenAICompatibleProvider({ name: 'gw', apiKey: KEY, baseURL: server.baseURL });
    const before = new AbortController();
    before.abort();
    const started = Date.now();
    await expect(provider.complete(ask, { signal: before.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
    const during = new AbortController();
    const pending = provider.complete(ask, { signal: during.signal });
    const streamed = new AbortController();
    const stream = provider.stream(ask, { signal: streamed.signal })[Symbol.asyncIterator]().next();
    setTimeout(() => {
      during.abort();
      streamed.abort();
    }, 50);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(stream).rejects.toMatchObject({ code: 'CANCELLED' });
    // The load is still held: none of them waited for it.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(0);
    gate.open();
    const answer = await provider.complete(ask, { signal: new AbortController().signal });
    expect(answer.content.length).toBeGreaterThan(0);
    expect(server.requests).toHaveLength(1);
    await provider.close();
  });
});
