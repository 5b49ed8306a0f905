/**
 * Provider settings with a value that cannot be meant are refused at load, naming the setting.
 * Before, TROUPE_DEFAULT_PROVIDER (or the file's defaults.provider) naming no provider was ignored,
 * and calls went to the first configured provider; GLM_CODING_PLAN=on (or any word but 1, true,
 * yes) was taken as "no" and the calls went to the pay-as-you-go path.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';

const KEY = 'k-0123456789';

describe('default provider and yes/no variables', () => {
  it('a default provider that is none of them is refused, listing them', async () => {
    await expect(
      loadProviders({ env: { KIMI_API_KEY: KEY, TROUPE_DEFAULT_PROVIDER: 'kimmi' } }),
    ).rejects.toThrow('TROUPE_DEFAULT_PROVIDER: Expected a provider (`kimi`, `glm`), got `"kimmi"` (string)');
    const dir = await mkdtemp(join(tmpdir(), 'troupe-defaults-'));
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
