/**
 * Which host each key variable selects, the base-URL variables users already have, and the GLM
 * Coding Plan host: the documented rule in docs/providers.md, as loadProviders applies it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

type Env = Record<string, string>;

async function baseURLs(env: Env, file?: unknown): Promise<Record<string, string>> {
  let configPath: string | undefined;
  if (file !== undefined) {
    const dir = tempDir('troupe-hosts-');
    configPath = join(dir, 'providers.json');
    await writeFile(configPath, JSON.stringify(file));
  }
  const loaded = await loadProviders({ env, ...(configPath ? { configPath } : {}) });
  const out = Object.fromEntries(
    loaded.providers.map((p) => [p.name, (p as { baseURL?: string }).baseURL ?? '']),
  );
  await loaded.close();
  return out;
}

const KEY = 'k-0123456789';

describe('GLM: which host each key variable selects', () => {
  it.each([
    [{ ZHIPUAI_API_KEY: KEY }, 'https://open.bigmodel.cn/api/paas/v4'],
    [{ ZAI_API_KEY: KEY }, 'https://api.z.ai/api/paas/v4'],
    [{ GLM_API_KEY: KEY }, 'https://api.z.ai/api/paas/v4'],
    [{ ZHIPUAI_API_KEY: KEY, GLM_API_KEY: KEY }, 'https://open.bigmodel.cn/api/paas/v4'],
    [{ GLM_API_KEY: KEY, ZAI_BASE_URL: 'http://127.0.0.1:9/zai' }, 'http://127.0.0.1:9/zai'],
    [{ ZHIPUAI_API_KEY: KEY, ZHIPUAI_BASE_URL: 'http://127.0.0.1:9/cn' }, 'http://127.0.0.1:9/cn'],
    // A base URL for the other host does not apply.
    [
      { ZHIPUAI_API_KEY: KEY, ZAI_BASE_URL: 'http://127.0.0.1:9/zai' },
      'https://open.bigmodel.cn/api/paas/v4',
    ],
    [
      { ZAI_API_KEY: KEY, ZAI_BASE_URL: 'http://127.0.0.1:9/zai', GLM_BASE_URL: 'http://127.0.0.1:9/any' },
      'http://127.0.0.1:9/any',
    ],
    [{ ZAI_API_KEY: KEY, GLM_CODING_PLAN: '1' }, 'https://api.z.ai/api/coding/paas/v4'],
    [{ ZHIPUAI_API_KEY: KEY, GLM_CODING_PLAN: 'true' }, 'https://open.bigmodel.cn/api/coding/paas/v4'],
  ])('%o -> %s', async (env, expected) => {
    expect((await baseURLs(env)).glm).toBe(expected);
  });

  it('takes host, codingPlan and baseURL from the providers file, over the variables', async () => {
    expect((await baseURLs({ ZHIPUAI_API_KEY: KEY }, { glm: { host: 'zai', codingPlan: true } })).glm).toBe(
      'https://api.z.ai/api/coding/paas/v4',
    );
    expect(
      (
        await baseURLs(
          { GLM_API_KEY: KEY, ZAI_BASE_URL: 'http://127.0.0.1:9/zai' },
          { glm: { baseURL: 'http://127.0.0.1:9/file' } },
        )
      ).glm,
    ).toBe('http://127.0.0.1:9/file');
  });
});

describe('Kimi: base URL variables', () => {
  it.each([
    [{ MOONSHOT_API_KEY: KEY }, 'https://api.moonshot.ai/v1'],
    [{ KIMI_API_KEY: KEY, KIMI_BASE_URL: 'http://127.0.0.1:9/k' }, 'http://127.0.0.1:9/k'],
    [{ KIMI_API_KEY: KEY, MOONSHOT_BASE_URL: 'http://127.0.0.1:9/m' }, 'http://127.0.0.1:9/m'],
    [
      { KIMI_API_KEY: KEY, KIMI_BASE_URL: 'http://127.0.0.1:9/k', MOONSHOT_BASE_URL: 'http://127.0.0.1:9/m' },
      'http://127.0.0.1:9/k',
    ],
  ])('%o -> %s', async (env, expected) => {
    expect((await baseURLs(env)).kimi).toBe(expected);
  });

  it('refuses a base URL that is not a URL, naming the variable, without showing it', async () => {
    await expect(loadProviders({ env: { KIMI_API_KEY: KEY, KIMI_BASE_URL: 'not a url' } })).rejects.toThrow(
      'KIMI_BASE_URL: Expected an http(s) URL, got text that is not one (9 characters, not shown: it may be a key in the wrong setting)',
    );
    // A key pasted into the URL's setting: it was printed (its first 80 characters).
    const pasted = 'sk-Pasted0123456789abcdef';
    const error = await loadProviders({ env: { KIMI_API_KEY: KEY, KIMI_BASE_URL: pasted } }).catch((e) => e);
    expect(String(error.message)).not.toContain('Pasted0123');
    // One that parses is shown, without what could hold a secret.
    await expect(
      loadProviders({ env: { KIMI_API_KEY: KEY, KIMI_BASE_URL: 'ftp://files.example/v1' } }),
    ).rejects.toThrow('KIMI_BASE_URL: Expected an http(s) URL, got `"ftp://files.example/v1"` (string)');
  });

  it('lists the current families and not kimi-latest; file models add to the catalogue', async () => {
    const dir = tempDir('troupe-hosts-');
    const path = join(dir, 'providers.json');
    await writeFile(
      path,
      JSON.stringify({ kimi: { models: [{ id: 'kimi-k2.6', contextWindow: 1000 }, { id: 'kimi-x' }] } }),
    );
    const loaded = await loadProviders({ env: { KIMI_API_KEY: KEY }, configPath: path });
    const kimi = loaded.registry.list().find((p) => p.name === 'kimi');
    const ids = kimi?.models.map((m) => m.id) ?? [];
    expect(ids).toContain('kimi-k2-0711-preview');
    expect(ids).toContain('moonshot-v1-8k-vision-preview');
    expect(ids).not.toContain('kimi-latest');
    expect(ids.at(-1)).toBe('kimi-x');
    expect(kimi?.openModels).toBe(true);
    expect(loaded.registry.lookup('kimi', 'kimi-k2.6')?.contextWindow).toBe(1000);
    expect(loaded.registry.resolve({ provider: 'kimi', model: 'kimi-anything' })).toEqual({
      provider: 'kimi',
      model: 'kimi-anything',
    });
    await loaded.close();
  });
});

describe('GLM: the catalogue (docs.z.ai / docs.bigmodel.cn model pages)', () => {
  it('lists the current families with their windows and capabilities; glm-5.1 stays the default; unknown ids still pass', async () => {
    const loaded = await loadProviders({ env: { ZAI_API_KEY: KEY } });
    const spec = (id: string) => loaded.registry.lookup('glm', id);
    // [Z7] "最大上下文 1M，最大输出 128K"; thinking on by default, switchable.
    expect(spec('glm-5.2')).toMatchObject({ contextWindow: 1_048_576, capabilities: { thinking: true } });
    // [Z5] 200K context, 128K output, thinking mode (glm-4.7-flash: the GLM-4.7 page's third tab).
    for (const id of ['glm-5-turbo', 'glm-4.7-flashx', 'glm-4.7-flash'])
      expect(spec(id)).toMatchObject({
        contextWindow: 204_800,
        capabilities: { thinking: true, vision: false },
      });
    // [Z5] video / image / text / file input, thinking mode.
    expect(spec('glm-5v-turbo')).toMatchObject({
      contextWindow: 204_800,
      capabilities: { thinking: true, vision: true },
    });
    // [Z2] `thinking` "only supported by GLM-4.5 series and higher models".
    expect(spec('glm-4-32b-0414-128k')).toMatchObject({
      contextWindow: 131_072,
      capabilities: { thinking: false },
    });
    const glm = loaded.registry.list().find((p) => p.name === 'glm');
    expect(glm?.defaultModel).toBe('glm-5.1');
    expect(glm?.openModels).toBe(true);
    for (const model of ['glm-5.3', 'glm-5.2-air', 'glm-9'])
      expect(loaded.registry.resolve({ provider: 'glm', model })).toEqual({ provider: 'glm', model });
    await loaded.close();
  });
});
