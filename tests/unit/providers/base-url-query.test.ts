/**
 * A provider base URL with a query string or fragment is refused where it is configured, naming the
 * setting and never showing what follows the `?` or `#`. Before (found by an audit on 2026-12-04),
 * `KIMI_BASE_URL=http://host/v1?key=<secret>` was taken: the request path went after the query
 * (`/v1?key=<secret>%2Fchat%2Fcompletions`), so every call failed, and a server quoting the URL in
 * its 404 showed the key to every client in the tool's error.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { hideUserinfo } from '../../../src/providers/base-url.js';
import { loadProviders, parseProvidersFile } from '../../../src/providers/config.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';

const KEY = 'qs-SECRET-0123456789';
const failure = async (run: () => unknown): Promise<TroupeError> => {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    expect(inspect(error, { depth: 6 })).not.toContain(KEY);
    return error as TroupeError;
  }
  throw new Error('expected a refusal');
};

describe('provider base URLs with a query string or fragment', () => {
  it.each([
    [
      'providers[0].baseURL',
      { providers: [{ name: 'gw', baseURL: `http://127.0.0.1:9/v1?key=${KEY}`, apiKeyEnv: 'K' }] },
    ],
    ['kimi.baseURL', { kimi: { baseURL: `https://proxy.example/v1?api_key=${KEY}` } }],
    ['glm.baseURL', { glm: { baseURL: `https://proxy.example/v4#${KEY}` } }],
  ])('the file: %s is refused, naming the field, the query hidden', async (field, file) => {
    const error = await failure(() => parseProvidersFile(file, 'p.json'));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(
      `p.json: ${field}: Expected a base URL without a query string or fragment`,
    );
    expect(error.message).toMatch(/got `"https?:\/\/[^"]*[?#]\*\*\*"`/);
  });

  it.each(['KIMI_BASE_URL', 'GLM_BASE_URL', 'TROUPE_OPENAI_BASE_URL'])(
    'the environment: %s is refused',
    async (name) => {
      const env = {
        KIMI_API_KEY: 'k-0123456789',
        ZAI_API_KEY: 'k-0123456789',
        TROUPE_OPENAI_API_KEY: 'k-0123456789',
      };
      for (const url of [
        `http://127.0.0.1:9/v1?key=${KEY}`,
        'http://127.0.0.1:9/v1?',
        `http://127.0.0.1:9/v1#${KEY}`,
      ]) {
        const error = await failure(() => loadProviders({ env: { ...env, [name]: url } }));
        expect(error.message).toMatch(
          new RegExp(`^${name}: Expected a base URL without a query string or fragment`),
        );
      }
    },
  );

  it('the adapter refuses one too, for embedders, before any request', async () => {
    const error = await failure(() =>
      createOpenAICompatibleProvider({
        name: 'gw',
        baseURL: `http://127.0.0.1:9/v1?key=${KEY}`,
        apiKey: 'k',
      }),
    );
    expect(error.message).toBe(
      'gw baseURL: Expected a base URL without a query string or fragment (the request path is appended to it, after the query); send a key as the API key, or in a header of the providers file, got `"http://127.0.0.1:9/v1?***"` (string)',
    );
  });

  it('a plain base URL is still taken, and hiding leaves it whole', () => {
    expect(() =>
      createOpenAICompatibleProvider({ name: 'gw', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k' }),
    ).not.toThrow();
    expect(hideUserinfo('https://u:p@h/v1?k=1#f')).toBe('https://***@h/v1?***');
    expect(hideUserinfo('https://h/v1#f')).toBe('https://h/v1#***');
    // A password holding `?` or `#` unencoded: hidden whole (the first version of this rule cut the
    // URL at its `#` first and showed `https://bob:hunter2#***`).
    expect(hideUserinfo('https://bob:hunter2#xyz@api.example.com/v1')).toBe('https://***@api.example.com/v1');
    expect(hideUserinfo('http://user:s3cr?et@host/v1?k=1')).toBe('http://***@host/v1?***');
  });
});
