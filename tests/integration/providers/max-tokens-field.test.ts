/**
 * `maxTokensField` in a providers file entry, over real HTTP: with `max_completion_tokens`, a
 * request's `max_tokens` reaches the server as `max_completion_tokens` alone (OpenAI's reasoning
 * models refuse `max_tokens`), whole and streamed; without it, as `max_tokens`, as before.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../../src/providers/config.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { tempDir } from '../../support/temp-dir.js';

const KEY = 'sk-max-tokens-field-0123456789';
let server: OpenAIServer;
let loaded: LoadedProviders;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  const configPath = join(tempDir('troupe-max-tokens-'), 'providers.json');
  const entry = { baseURL: server.baseURL, apiKeyEnv: 'LOCAL_KEY' };
  await writeFile(
    configPath,
    JSON.stringify({
      providers: [
        { ...entry, name: 'reasoning', maxTokensField: 'max_completion_tokens' },
        { ...entry, name: 'plain' },
      ],
    }),
  );
  loaded = await loadProviders({ env: { LOCAL_KEY: KEY }, configPath });
});
afterAll(async () => {
  await loaded?.close();
  await server?.close();
});
beforeEach(() => server.reset());

const provider = (name: string) => loaded.providers.find((p) => p.name === name) as ChatProvider;
const request = { model: 'o-model', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 77 };

async function sent(name: string, kind: 'complete' | 'stream'): Promise<Record<string, unknown>> {
  const signal = new AbortController().signal;
  if (kind === 'complete') await provider(name).complete(request, { signal });
  else for await (const _ of provider(name).stream(request, { signal })) void _;
  const chats = server.requests.filter((r) => r.path.endsWith('/chat/completions'));
  expect(chats).toHaveLength(1);
  return chats[0]?.body as Record<string, unknown>;
}

describe('a providers file entry’s maxTokensField, over HTTP', () => {
  it.each(['complete', 'stream'] as const)(
    '`max_completion_tokens` sends the budget under that name alone (%s)',
    async (kind) => {
      const body = await sent('reasoning', kind);
      expect(body.max_completion_tokens).toBe(77);
      expect(body).not.toHaveProperty('max_tokens');
    },
  );

  it.each(['complete', 'stream'] as const)('left out, the budget goes as `max_tokens` (%s)', async (kind) => {
    const body = await sent('plain', kind);
    expect(body.max_tokens).toBe(77);
    expect(body).not.toHaveProperty('max_completion_tokens');
  });
});
