/**
 * A provider base URL with a user or password in it is refused where it is configured, naming the
 * setting and never showing the password. Before, the providers file and the base-URL variables
 * took it; undici refuses such a URL, so a stream failed as NETWORK "connection failed" (retried,
 * counted against the breaker) while a whole call went out without the credentials; and a base URL
 * that did not parse was echoed whole, password included, in the start's error.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import {
  baseUrlProblem,
  checkBaseUrl,
  hasCredentials,
  hideUserinfo,
  shownUrl,
} from '../../../src/providers/base-url.js';
import { loadProviders, parseProvidersFile } from '../../../src/providers/config.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';

const PW = 'Pw0rdZq9';
const failure = async (run: () => unknown): Promise<TroupeError> => {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    expect(inspect(error, { depth: 6 })).not.toContain(PW);
    return error as TroupeError;
  }
  throw new Error('expected a refusal');
};

describe('provider base URLs with credentials', () => {
  it.each([
    [
      'providers[0].baseURL',
      { providers: [{ name: 'gw', baseURL: `http://u:${PW}@127.0.0.1:9/v1`, apiKeyEnv: 'K' }] },
    ],
    ['kimi.baseURL', { kimi: { baseURL: `https://u:${PW}@proxy.example/v1` } }],
    ['glm.baseURL', { glm: { baseURL: `https://:${PW}@proxy.example/v4` } }],
  ])('the file: %s is refused, naming the field and a header instead', async (field, file) => {
    const error = await failure(() => parseProvidersFile(file, 'p.json'));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(`p.json: ${field}: Expected a base URL without a user or password`);
    expect(error.message).toContain('"Authorization": "Basic ..."');
    expect(error.message).toMatch(/got `"https?:\/\/\*\*\*@/);
  });

  it('the file: a base URL that does not parse is shown without its user and password', async () => {
    const file = { providers: [{ name: 'gw', baseURL: `http://u:${PW}@host:99999/v1`, apiKeyEnv: 'K' }] };
    const error = await failure(() => parseProvidersFile(file, 'p.json'));
    expect(error.message).toBe(
      'p.json: providers[0].baseURL: Expected an http(s) URL, got `"http://***@host:99999/v1"` (string)',
    );
  });

  it.each([
    ['KIMI_BASE_URL', { KIMI_API_KEY: 'k-0123456789' }],
    ['MOONSHOT_BASE_URL', { KIMI_API_KEY: 'k-0123456789' }],
    ['GLM_BASE_URL', { ZAI_API_KEY: 'k-0123456789' }],
    ['TROUPE_OPENAI_BASE_URL', { TROUPE_OPENAI_API_KEY: 'k-0123456789' }],
  ])(
    'the environment: %s with a password is refused, and so is one that does not parse',
    async (name, env) => {
      for (const [url, expected] of [
        [`http://u:${PW}@127.0.0.1:9/v1`, 'a base URL without a user or password'],
        [`http://u:${PW}@h:99999/v1`, 'an http(s) URL'],
        ['localhost:8000/v1', 'an http(s) URL'],
      ] as const) {
        const error = await failure(() => loadProviders({ env: { ...env, [name]: url } }));
        expect(error.message).toMatch(new RegExp(`^${name}: Expected ${expected.replace(/[()]/g, '\\$&')}`));
      }
    },
  );

  it('the adapter refuses one too, for embedders, before any request', async () => {
    const error = await failure(() =>
      createOpenAICompatibleProvider({ name: 'gw', baseURL: `http://u:${PW}@127.0.0.1:9/v1`, apiKey: 'k' }),
    );
    expect(error.message).toMatch(/^gw baseURL: Expected a base URL without a user or password/);
  });
});

describe('the base URL checks, called directly', () => {
  it('hides a user and password after `//` wherever the URL starts, and nothing when no `//` comes before the `@`', () => {
    expect(hideUserinfo('//user:pw@host/v1')).toBe('//***@host/v1');
    expect(hideUserinfo('mailto:a@b')).toBe('mailto:a@b');
    expect(hideUserinfo('?key=secret')).toBe('?***');
    expect(hideUserinfo('https://u:p@h/v1?key=secret#x')).toBe('https://***@h/v1?***');
  });

  it('finds a user alone or a password alone, and neither in a plain URL or text that is none', () => {
    expect(
      ['https://user@h/v1', 'https://:pw@h/v1', 'https://h/v1', 'not a url'].map(hasCredentials),
    ).toEqual([true, true, false, false]);
  });

  it('takes only http and https, whatever comes before them', () => {
    expect(baseUrlProblem('xhttps://h/v1')).toBe('an http(s) URL');
    expect(baseUrlProblem('https://h/v1')).toBeUndefined();
  });

  it('names where a refused URL came from, and shows text with no `://` by its length only', () => {
    expect(() => checkBaseUrl('X_BASE_URL', 'ftp://h/v1')).toThrow(
      /^X_BASE_URL: Expected an http\(s\) URL, got /,
    );
    expect(() => checkBaseUrl('X_BASE_URL', 'ftp://h/v1')).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    expect(shownUrl('sk-secret')).toBe(
      'text that is not one (9 characters, not shown: it may be a key in the wrong setting)',
    );
  });
});
