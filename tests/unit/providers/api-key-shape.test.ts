/**
 * An API key a header cannot carry is refused where it is read, naming its variable (or the
 * provider) and the character's place, never the key. Before, a key wrapped across two lines or
 * pasted between typographic quotes went as far as the request, where undici refused the header,
 * and the call failed `BAD_RESPONSE: ... unexpected failure (TypeError)`: the vendor blamed for
 * an answer it never gave, with a hint to retry or choose another model.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import {
  checkedKey,
  keyFault,
  MAX_API_KEY_CHARS,
  MAX_VENDOR_KEY_CHARS,
} from '../../../src/providers/api-key.js';
import { loadProviders } from '../../../src/providers/config.js';
import { createGlmProvider } from '../../../src/providers/glm.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { tempDir } from '../../support/temp-dir.js';

const SECRET = 'sk-Secret0123456789';

async function refusal(env: Record<string, string>, configPath?: string): Promise<TroupeError> {
  try {
    const loaded = await loadProviders({ env, ...(configPath === undefined ? {} : { configPath }) });
    await loaded.close();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    return error as TroupeError;
  }
  throw new Error('Expected the key to be refused, got it loaded');
}

describe('an API key a header can carry', () => {
  it('names what is wrong and where, for each kind of character', () => {
    expect(keyFault(`${SECRET}\nrest`)).toBe('one with a line break at character 20 of 24');
    expect(keyFault(`a\rb`)).toBe('one with a line break at character 2 of 3');
    expect(keyFault('sk abc')).toBe('one with a space or tab at character 3 of 6');
    expect(keyFault('sk\tabc')).toBe('one with a space or tab at character 3 of 6');
    expect(keyFault('sk\u0000abc')).toBe('one with a control character at character 3 of 6');
    expect(keyFault('sk\u007fabc')).toBe('one with a control character at character 3 of 6');
    expect(keyFault('\u201csk-abc\u201d')).toBe(
      'one with a character outside ASCII (U+201C, such as a typographic quote) at character 1 of 8',
    );
    expect(keyFault('sk-é')).toMatch(/^one with a character outside ASCII \(U\+00E9,/);
    expect(keyFault('sk-\u{1F511}')).toMatch(/^one with a character outside ASCII \(U\+1F511,/);
    // Every printable ASCII character passes, the ends included (GLM keys are `id.secret`).
    expect(keyFault('!~abc.DEF_123-xyz')).toBeUndefined();
    expect(keyFault(SECRET)).toBeUndefined();
  });

  // The README's `--env MOONSHOT_API_KEY=sk-...` copied as it is: until 2026-12-07 taken as a key.
  it.each([
    ['MOONSHOT_API_KEY', 'sk-...'],
    ['ZHIPUAI_API_KEY', 'sk-abc...'],
    ['GLM_API_KEY', '\u2026'],
    ['TROUPE_OPENAI_API_KEY', 'sk-\u2026'],
  ])(
    'refuses %s set to the docs’ placeholder %j at load, naming the variable and not the key',
    async (name, key) => {
      const env: Record<string, string> = { [name]: key };
      if (name === 'TROUPE_OPENAI_API_KEY') env.TROUPE_OPENAI_BASE_URL = 'http://127.0.0.1:9/v1';
      const error = await refusal(env);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe(
        `${name}: Expected an API key, got a placeholder ending in "${key.slice(-1) === '.' ? '...' : '\u2026'}" as the docs write one; set it to your own key (the key is not shown)`,
      );
      // The ending named is the placeholder's, not the key's: nothing else of it is shown.
      expect(error.message.replace(/ending in "(\.\.\.|\u2026)"/, '')).not.toContain(key);
    },
  );

  it('refuses a placeholder from a providers file’s apiKeyEnv, and takes a key with dots inside', async () => {
    const path = join(tempDir('troupe-key-'), 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [{ name: 'local', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'LOCAL_KEY' }],
      }),
    );
    expect((await refusal({ LOCAL_KEY: 'sk-...' }, path)).message).toMatch(
      /^LOCAL_KEY: Expected an API key, got a placeholder/,
    );
    const loaded = await loadProviders({
      env: { LOCAL_KEY: 'id.se...cret', MOONSHOT_API_KEY: 'sk-a.b' },
      configPath: path,
    });
    expect(loaded.providers.map((p) => p.name)).toContain('local');
    await loaded.close();
  });

  it.each([['MOONSHOT_API_KEY'], ['KIMI_API_KEY'], ['ZHIPUAI_API_KEY'], ['ZAI_API_KEY'], ['GLM_API_KEY']])(
    'refuses %s wrapped across two lines at load, naming the variable and not the key',
    async (name) => {
      const error = await refusal({ [name]: `${SECRET}\n${SECRET}` });
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe(
        `${name}: Expected an API key of printable ASCII characters (no spaces, line breaks or quotes), got one with a line break at character 20 of 39 (the key is not shown)`,
      );
      expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(SECRET);
    },
  );

  it('refuses the environment endpoint’s key and a providers file’s, by their variables', async () => {
    const endpoint = await refusal({
      TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      TROUPE_OPENAI_API_KEY: `\u201c${SECRET}\u201d`,
    });
    expect(endpoint.message).toMatch(/^TROUPE_OPENAI_API_KEY: Expected an API key .*U\+201C/);
    const dir = tempDir('troupe-key-');
    const path = join(dir, 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [{ name: 'mine', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY' }],
      }),
    );
    const file = await refusal({ MY_KEY: `${SECRET} ` + 'x' }, path);
    expect(file.message).toMatch(/^MY_KEY: Expected an API key .* a space or tab at character 20 of 21/);
    expect(file.message).not.toContain(SECRET);
  });

  it('says the key is not shown only when there is one to show', () => {
    const keyless = '(for an endpoint that takes no key, give any value, such as `none`)';
    expect(() => checkedKey('X_KEY', '')).toThrow(
      new RegExp(`^X_KEY: Expected an API key .*, got an empty one ${escaped(keyless)}$`),
    );
    expect(() => checkedKey('X_KEY', undefined as unknown as string)).toThrow(
      new RegExp(`^X_KEY: Expected an API key .*, got none ${escaped(keyless)}$`),
    );
    expect(() => checkedKey('X_KEY', 'sk-a b')).toThrow(
      /^X_KEY: Expected an API key .*, got one with a space or tab at character 5 of 6 \(the key is not shown\)$/,
    );
  });

  it('refuses it when a provider is built from code, naming the provider', () => {
    expect(() =>
      createOpenAICompatibleProvider({
        name: 'lib',
        baseURL: 'http://127.0.0.1:9/v1',
        apiKey: `${SECRET}\n`,
      }),
    ).toThrow(
      /^lib apiKey: Expected an API key .* a line break at character 20 of 20 \(the key is not shown\)$/,
    );
    // A key read from a file keeps its newline: fetch trimmed it and the key worked, but the scrub
    // looked for the untrimmed text, so a server that echoed the header showed the key.
    const baseURL = 'http://127.0.0.1:9/v1';
    expect(() => createKimiProvider({ apiKey: `${SECRET}\n`, baseURL })).toThrow(
      /^kimi apiKey: .* line break/,
    );
    expect(() => createGlmProvider({ apiKey: ` ${SECRET}`, baseURL })).toThrow(
      /^glm apiKey: .* space or tab at character 1/,
    );
    // None at all, from JavaScript: a TypeError on `key.length` before.
    expect(() =>
      createOpenAICompatibleProvider({ name: 'lib', baseURL: 'http://127.0.0.1:9/v1' } as never),
    ).toThrow(
      'lib apiKey: Expected an API key of printable ASCII characters (no spaces, line breaks or quotes), got none (for an endpoint that takes no key, give any value, such as `none`)',
    );
    // An empty one: the SDK's own refusal named OPENAI_API_KEY, whatever the provider.
    expect(() =>
      createOpenAICompatibleProvider({ name: 'lib', baseURL: 'http://127.0.0.1:9/v1', apiKey: '' }),
    ).toThrow(
      'lib apiKey: Expected an API key of printable ASCII characters (no spaces, line breaks or quotes), got an empty one (for an endpoint that takes no key, give any value, such as `none`)',
    );
  });

  /** A key of `length` characters that no slice of 16 of repeats elsewhere in a message by chance. */
  const longKey = (length: number) =>
    `sk-${Array.from({ length }, (_, i) => 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'[(i * 7919) % 57]).join('')}`.slice(
      0,
      length,
    );
  /** Whether any 16 characters of `key` in a row are in `text`. */
  const leaks = (text: string, key: string) => {
    for (let i = 0; i + 16 <= key.length; i += 8) if (text.includes(key.slice(i, i + 16))) return true;
    return false;
  };

  it.each([['MOONSHOT_API_KEY'], ['KIMI_API_KEY'], ['ZHIPUAI_API_KEY'], ['ZAI_API_KEY'], ['GLM_API_KEY']])(
    'refuses %s past the vendor bound at load, giving its length and not the key, and takes one at it',
    async (name) => {
      const key = longKey(MAX_VENDOR_KEY_CHARS + 1);
      const error = await refusal({ [name]: key });
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toBe(
        `${name}: Expected an API key of at most 1,024 characters, got one of 1,025; set it to the key alone (the key is not shown)`,
      );
      expect(leaks(JSON.stringify({ ...error, message: error.message, stack: error.stack }), key)).toBe(
        false,
      );
      const loaded = await loadProviders({ env: { [name]: key.slice(0, MAX_VENDOR_KEY_CHARS) } });
      expect(loaded.providers.map((p) => p.name)).toContain(
        name.startsWith('MOONSHOT') || name.startsWith('KIMI') ? 'kimi' : 'glm',
      );
      await loaded.close();
    },
  );

  it('bounds any other endpoint’s key at 16,384 characters, where it is read and from code', async () => {
    const endpoint = { TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };
    const key = longKey(MAX_API_KEY_CHARS + 1);
    const refused = await refusal({ ...endpoint, TROUPE_OPENAI_API_KEY: key });
    expect(refused.message).toBe(
      'TROUPE_OPENAI_API_KEY: Expected an API key of at most 16,384 characters, got one of 16,385; set it to the key alone (the key is not shown)',
    );
    expect(leaks(`${refused.message}${refused.stack}`, key)).toBe(false);
    // A bearer token of a gateway (an OAuth token of 12 kB) is taken.
    const token = longKey(12_288);
    const loaded = await loadProviders({ env: { ...endpoint, TROUPE_OPENAI_API_KEY: token } });
    expect(loaded.providers.map((p) => p.name)).toContain('openai');
    await loaded.close();
    const path = join(tempDir('troupe-key-'), 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [{ name: 'mine', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY' }],
      }),
    );
    expect((await refusal({ MY_KEY: key }, path)).message).toMatch(
      /^MY_KEY: Expected an API key of at most 16,384/,
    );
    expect(() =>
      createOpenAICompatibleProvider({ name: 'mine', apiKey: key, baseURL: endpoint.TROUPE_OPENAI_BASE_URL }),
    ).toThrow(/^mine apiKey: Expected an API key of at most 16,384 characters, got one of 16,385;/);
  });

  it('bounds a Kimi or GLM provider built from code at the vendor’s 1,024, as its variables are', async () => {
    // Until 2026-12-08 one built from code took the 16,384 of any other endpoint.
    const key = longKey(MAX_VENDOR_KEY_CHARS + 1);
    const baseURL = 'http://127.0.0.1:9/v1';
    expect(() => createKimiProvider({ apiKey: key, baseURL })).toThrow(
      'kimi apiKey: Expected an API key of at most 1,024 characters, got one of 1,025; set it to the key alone (the key is not shown)',
    );
    expect(() => createGlmProvider({ apiKey: key, name: 'zai' })).toThrow(
      /^zai apiKey: Expected an API key of at most 1,024 characters, got one of 1,025;/,
    );
    const taken = [
      createKimiProvider({ apiKey: key.slice(1), baseURL }),
      createGlmProvider({ apiKey: key.slice(1) }),
    ];
    expect(taken.map((p) => p.name)).toEqual(['kimi', 'glm']);
    await Promise.all(taken.map((p) => p.close()));
    // An embedder who means a longer one says so.
    const wide = createKimiProvider({
      apiKey: key,
      baseURL,
      capabilities: { maxKeyChars: MAX_API_KEY_CHARS },
    });
    await wide.close();
  });

  it('bounds a providers file’s credential header as its key, at load, naming the header and not its value', async () => {
    // Until 2026-12-08 such a header had no bound: it went with every call, to be refused after the round trip.
    const path = join(tempDir('troupe-header-'), 'providers.json');
    const file = (headers: Record<string, string>) =>
      writeFile(
        path,
        JSON.stringify({
          providers: [{ name: 'mine', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY', headers }],
        }),
      );
    const long = longKey(MAX_API_KEY_CHARS + 1);
    await file({ 'x-team': 'research', 'api-key': long });
    // Checked whether or not the key is set, as the file's other fields are.
    for (const env of [{ MY_KEY: SECRET }, {}] as Record<string, string>[]) {
      const refused = await refusal(env, path);
      expect(refused.message).toBe(
        `${path}: providers[0].headers["api-key"]: Expected a credential of at most 16,384 characters (the bound of this provider's key), got one of 16,385; set the header to the credential alone (the value is not shown)`,
      );
      expect(leaks(`${refused.message}${refused.stack}`, long)).toBe(false);
    }
    // A scheme is no part of the credential; a header no credential's name is not bounded here.
    await file({ Authorization: `Bearer ${long.slice(1)}`, 'x-note': long });
    const loaded = await loadProviders({ env: { MY_KEY: SECRET }, configPath: path });
    expect(loaded.providers.map((p) => p.name)).toContain('mine');
    await loaded.close();
    await file({ Authorization: `Bearer ${long}` });
    expect((await refusal({ MY_KEY: SECRET }, path)).message).toMatch(
      /providers\[0\]\.headers\["Authorization"\]: Expected a credential of at most 16,384 characters \(the bound of this provider's key\), got one of 16,385;/,
    );
  });

  it('bounds a credential header given from code as the adapter’s key: 1,024 for Kimi and GLM', async () => {
    const header = { 'x-gateway-token': longKey(MAX_VENDOR_KEY_CHARS + 1) };
    const baseURL = 'http://127.0.0.1:9/v1';
    expect(() => createKimiProvider({ apiKey: SECRET, baseURL, defaultHeaders: header })).toThrow(
      /^kimi headers\["x-gateway-token"\]: Expected a credential of at most 1,024 characters/,
    );
    expect(() => createGlmProvider({ apiKey: SECRET, defaultHeaders: header })).toThrow(
      /^glm headers\["x-gateway-token"\]: Expected a credential of at most 1,024 characters/,
    );
    const wide = createOpenAICompatibleProvider({
      name: 'mine',
      apiKey: SECRET,
      baseURL,
      defaultHeaders: header,
    });
    expect(wide.name).toBe('mine');
    await wide.close();
  });
});

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
