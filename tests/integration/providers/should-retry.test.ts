/**
 * `x-should-retry` over real HTTP: the server's `true` or `false` decides whether a session retries
 * an HTTP error, before the code's own answer, as the openai SDK and Z.ai's SDK obey it
 * (docs/providers.md [O1]); any other value, or none, leaves the code to decide. Until 2026-12-07
 * troupe read no such header: a 503 the server said not to retry was sent again, and a 400 it said
 * to retry was not.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-should-retry-0123456789abcdef';
let server: OpenAIServer;
let provider: ReturnType<typeof createOpenAICompatibleProvider>;
let runtime: Runtime;

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
  provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
  runtime = createRuntime({
    providers: [provider],
    defaults: { maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 20, timeoutMs: 10_000 },
  });
});
afterAll(async () => {
  await runtime?.shutdown({ deadlineMs: 100 });
  await provider?.close();
  await server?.close();
});
beforeEach(() => server.reset());

const chats = () => server.requests.filter((r) => r.path.endsWith('/chat/completions'));

async function submit(model: string, stream: boolean) {
  return runtime.submit({ provider: 'local', model, stream, messages: [{ role: 'user', content: 'hi' }] })
    .result;
}

describe('x-should-retry, over HTTP through a runtime', () => {
  it.each([false, true])('`false` ends a 503 at its first attempt (stream %s)', async (stream) => {
    const result = await submit('fault:503:should-retry=false', stream);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(result.error.retryable).toBe(false);
    expect(result.error.message).toContain("(the server's x-should-retry: false)");
    expect(chats()).toHaveLength(1);
  });

  it.each([false, true])('`true` retries a 400 the code alone would not (stream %s)', async (stream) => {
    const result = await submit(`fault:400:should-retry=true:first=1:tag=${stream}`, stream);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.metadata.attempts).toBe(2);
    expect(chats()).toHaveLength(2);
  });

  it.each(['TRUE', 'yes', '1'])(
    'another value (`%s`) leaves the code to decide: a 400 is not retried',
    async (said) => {
      const result = await submit(`fault:400:should-retry=${said}:first=1`, false);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.retryable).toBe(false);
      expect(result.error.message).not.toContain('x-should-retry');
      expect(chats()).toHaveLength(1);
    },
  );

  it('without the header, a 503 is retried as before', async () => {
    const result = await submit('fault:503:first=1', false);
    expect(result.ok).toBe(true);
    expect(chats()).toHaveLength(2);
  });
});
