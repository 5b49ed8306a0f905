/**
 * Provider settings with a value that cannot be meant are refused at load, naming the setting.
 * Before, TROUPE_DEFAULT_PROVIDER (or the file's defaults.provider) naming no provider was ignored,
 * and calls went to the first configured provider; GLM_CODING_PLAN=on (or any word but 1, true,
 * yes) was taken as "no" and the calls went to the pay-as-you-go path.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const KEY = 'k-0123456789';

describe('default provider and yes/no variables', () => {
  it('a default provider that is none of them is refused, listing them', async () => {
    await expect(
      loadProviders({ env: { KIMI_API_KEY: KEY, TROUPE_DEFAULT_PROVIDER: 'kimmi' } }),
    ).rejects.toThrow('TROUPE_DEFAULT_PROVIDER: Expected a provider (`kimi`, `glm`), got `"kimmi"` (string)');
    const dir = tempDir('troupe-defaults-');
    const path = join(dir, 'providers.json');
    await writeFile(path, JSON.stringify({ defaults: { provider: 'gml' } }));
    await expect(loadProviders({ env: { KIMI_API_KEY: KEY }, configPath: path })).rejects.toThrow(
      `${path}: defaults.provider: Expected a provider (\`kimi\`, \`glm\`), got \`"gml"\` (string)`,
    );
  });

  it('a known default is taken, configured or not; a blank one is unset', async () => {
    for (const [wanted, expected] of [
      ['glm', 'glm'],
      ['kimi', 'kimi'],
      ['  ', 'kimi'],
    ] as const) {
      const loaded = await loadProviders({ env: { KIMI_API_KEY: KEY, TROUPE_DEFAULT_PROVIDER: wanted } });
      expect(loaded.defaults.provider).toBe(expected);
      await loaded.close();
    }
  });

  it('GLM_CODING_PLAN takes 1/true/yes and 0/false/no, and refuses anything else', async () => {
    const base = async (plan: string) => {
      const loaded = await loadProviders({ env: { ZAI_API_KEY: KEY, GLM_CODING_PLAN: plan } });
      const url = (loaded.providers.find((p) => p.name === 'glm') as { baseURL?: string }).baseURL;
      await loaded.close();
      return url;
    };
    expect(await base('YES')).toMatch(/\/api\/coding\/paas\/v4$/);
    expect(await base('no')).not.toMatch(/coding/);
    expect(await base('')).not.toMatch(/coding/);
    await expect(base('on')).rejects.toThrow(
      'GLM_CODING_PLAN: Expected 1, true or yes (0, false or no), got `"on"` (string)',
    );
  });

  it('TROUPE_OPENAI_NAME follows the providers file rule for names', async () => {
    // Before: any text was a provider name (`my provider!`), unlike a name in the file.
    const env = { TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', TROUPE_OPENAI_API_KEY: KEY };
    await expect(loadProviders({ env: { ...env, TROUPE_OPENAI_NAME: 'my provider!' } })).rejects.toThrow(
      'TROUPE_OPENAI_NAME: Expected a name of letters, digits, - and _, got `"my provider!"` (string)',
    );
    const loaded = await loadProviders({ env: { ...env, TROUPE_OPENAI_NAME: 'local-vllm_2' } });
    expect(loaded.providers.map((p) => p.name)).toContain('local-vllm_2');
    await loaded.close();
  });
});

describe('a providers file that is not JSON', () => {
  it('says where it stops being JSON, by line and column, and never quotes it', async () => {
    // Before: "Expected JSON, got text that does not parse", with no place.
    const dir = tempDir('troupe-json-');
    const at = async (text: string) => {
      const path = join(dir, `p${Math.random()}.json`);
      await writeFile(path, text);
      const error = await loadProviders({ env: {}, configPath: path }).catch((e: Error) => e);
      return String((error as Error).message).slice(path.length);
    };
    expect(await at('{\n  "providers": [],\n}\n')).toBe(
      ': Expected JSON, got text that does not parse (at line 3, column 1)',
    );
    expect(await at('')).toBe(': Expected JSON, got text that does not parse (the file is empty)');
    expect(await at('[')).toBe(
      ': Expected JSON, got text that does not parse (it ends early: a bracket or a string left open)',
    );
    expect(await at('{"kimi": {')).toBe(
      ': Expected JSON, got text that does not parse (at line 1, column 11)',
    );
    // V8 quotes the text for some mistakes; the message never does.
    const quoted = await at('{"kimi": sk-Secret0123}');
    expect(quoted).toMatch(/^: Expected JSON, got text that does not parse/);
    expect(quoted).not.toContain('Secret0123');
  });
});

describe('a providers file entry named as a built-in', () => {
  it.each(['kimi', 'glm', 'simulated', 'openai'])(
    'refuses `%s`, naming the file and the entry',
    async (name) => {
      // Before: "Expected unique provider names, got `kimi` twice" of a name written once, and
      // `simulated` was taken, replacing the built-in one once its key was set.
      const dir = tempDir('troupe-names-');
      const path = join(dir, 'providers.json');
      await writeFile(
        path,
        JSON.stringify({ providers: [{ name, baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY' }] }),
      );
      const env = {
        MY_KEY: KEY,
        TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
        TROUPE_OPENAI_API_KEY: KEY,
      };
      await expect(loadProviders({ env, configPath: path })).rejects.toThrow(
        `${path}: providers[0].name: Expected a name of its own, got \`${name}\`, a built-in provider's`,
      );
    },
  );

  it('refuses a name an entry before it has, naming the second', async () => {
    const dir = tempDir('troupe-names-');
    const path = join(dir, 'providers.json');
    const entry = { name: 'mine', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY' };
    await writeFile(path, JSON.stringify({ providers: [entry, entry] }));
    await expect(loadProviders({ env: { MY_KEY: KEY }, configPath: path })).rejects.toThrow(
      `${path}: providers[1].name: Expected a name of its own, got \`mine\`, the name of an entry before it`,
    );
  });
});
