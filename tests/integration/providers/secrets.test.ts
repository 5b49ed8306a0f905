/** The API key never shows in a provider error: message, JSON, String(), or the cause chain. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-super-secret-never-print-0123456789';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(() => server.close());

function everyText(error: TroupeError): string {
  const parts: string[] = [String(error), error.stack ?? '', JSON.stringify(error.toData())];
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 10; depth += 1) {
    parts.push(String(cause), JSON.stringify(cause), (cause as Error).stack ?? '');
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

describe('secrets', () => {
  for (const model of [
    'fault:401:echo-auth=1',
    'fault:429:echo-auth=1',
    'fault:500:echo-auth=1',
    'fault:reset',
    'fault:bad-json',
  ]) {
    it(`${model}: the key appears nowhere in the error`, async () => {
      const p = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
      const error = await p
        .complete(
          { model, messages: [{ role: 'user', content: 'x' }] },
          { signal: new AbortController().signal },
        )
        .catch((e: unknown) => e);
      await p.close();
      expect(error).toBeInstanceOf(TroupeError);
      const text = everyText(error as TroupeError);
      expect(text).not.toContain(KEY);
      if (model.includes('echo-auth')) expect(text).toContain('[redacted]');
    });
  }

  it('the key is sent as a bearer token and the server records no authorization header', async () => {
    const p = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
    await p.complete(
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { signal: new AbortController().signal },
    );
    await p.close();
    const last = server.requests.at(-1);
    expect(last?.authorized).toBe(true);
    expect(JSON.stringify(last)).not.toContain(KEY);
  });
});

describe('OpenAI account settings in the environment', () => {
  it('OPENAI_ORG_ID and OPENAI_PROJECT_ID are not sent to the provider, whole or streamed', async () => {
    vi.stubEnv('OPENAI_ORG_ID', 'org-troupe-env-leak');
    vi.stubEnv('OPENAI_PROJECT_ID', 'proj-troupe-env-leak');
    try {
      const p = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
      const request = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };
      const from = server.requests.length;
      await p.complete(request, { signal: new AbortController().signal });
      for await (const _ of p.stream(request, { signal: new AbortController().signal })) {
        // read to the end
      }
      await p.close();
      const sent = server.requests.slice(from);
      expect(sent.length).toBe(2);
      for (const recorded of sent) {
        expect(recorded.headers).not.toHaveProperty('openai-organization');
        expect(recorded.headers).not.toHaveProperty('openai-project');
        expect(JSON.stringify(recorded.headers)).not.toContain('troupe-env-leak');
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('keys in the providers file `headers`', () => {
  // Azure-style `api-key`, or any header named like a credential, is a key too: a gateway that
  // dumps the request into its error body must not carry it into troupe's errors.
  const HEADER_KEY = 'azure-style-secret-value-987654321';
  const SHORT = 'k3y-77';
  for (const model of ['fault:401:echo-headers=1', 'fault:500:echo-headers=1']) {
    it(`${model}: a credential header's value appears nowhere in the error`, async () => {
      const p = createOpenAICompatibleProvider({
        name: 'local',
        baseURL: server.baseURL,
        apiKey: KEY,
        defaultHeaders: {
          'api-key': HEADER_KEY,
          'X-Gateway-Token': SHORT,
          'x-team': 'research-team',
        },
      });
      const error = await p
        .complete(
          { model, messages: [{ role: 'user', content: 'x' }] },
          { signal: new AbortController().signal },
        )
        .catch((e: unknown) => e);
      await p.close();
      expect(error).toBeInstanceOf(TroupeError);
      const text = everyText(error as TroupeError);
      expect(text).toContain('"api-key":"[redacted]"');
      for (const secret of [KEY, HEADER_KEY, SHORT]) expect(text).not.toContain(secret);
    });
  }
});
