import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders, parseProvidersFile } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const messageOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
};

describe('providers file validation', () => {
  it('points at the bad field and says what came', () => {
    const message = messageOf(() =>
      parseProvidersFile({
        providers: [
          { name: 'ok', baseURL: 'https://a.example/v1', apiKeyEnv: 'A_KEY' },
          { name: 'bad', baseURL: 'not a url', apiKeyEnv: 'B_KEY' },
        ],
      }),
    );
    expect(message).toContain(
      'providers[1].baseURL: Expected an http(s) URL, got text that is not one (9 characters, not shown: it may be a key in the wrong setting)',
    );
  });

  it('says a required field is missing as "got none", not `undefined` or "a value"', () => {
    const message = messageOf(() => parseProvidersFile({ providers: [{ name: 'local' }] }));
    expect(message).toBe(
      'providers file: providers[0].baseURL: Expected an http(s) URL, got none; providers[0].apiKeyEnv: Expected the NAME of the environment variable that holds the key (e.g. MY_API_KEY), got none',
    );
  });

  it('never echoes a key pasted into apiKeyEnv, and refuses an apiKey field', () => {
    const pasted = messageOf(() =>
      parseProvidersFile({
        providers: [{ name: 'x', baseURL: 'https://a.example', apiKeyEnv: 'sk-live-123 456' }],
      }),
    );
    expect(pasted).toContain(
      'providers[0].apiKeyEnv: Expected the NAME of the environment variable that holds the key (e.g. MY_API_KEY), got a value that is not one (not shown)',
    );
    expect(pasted).not.toContain('sk-live-123');
    const inline = messageOf(() =>
      parseProvidersFile({
        providers: [{ name: 'x', baseURL: 'https://a.example', apiKeyEnv: 'K', apiKey: 'sk-live-999' }],
      }),
    );
    expect(inline).toContain(
      'providers[0]: Expected only known fields, got `apiKey` (keys belong in the environment',
    );
    expect(inline).not.toContain('sk-live-999');
  });

  it('never echoes a header value, which may hold a key, when it is not a string', () => {
    const message = messageOf(() =>
      parseProvidersFile({
        providers: [
          {
            name: 'x',
            baseURL: 'https://a.example',
            apiKeyEnv: 'K',
            headers: { 'api-key': ['sk-live-in-a-header-777'], 'x-n': 7 },
          },
        ],
      }),
    );
    expect(message).toContain(
      'providers[0].headers.api-key: Expected a string header value, got an array (not shown: header values may hold keys)',
    );
    expect(message).toContain(
      'providers[0].headers.x-n: Expected a string header value, got a number (not shown',
    );
    expect(message).not.toContain('sk-live-in-a-header-777');
  });

  it('checks nested model fields', () => {
    const message = messageOf(() =>
      parseProvidersFile({
        providers: [
          {
            name: 'x',
            baseURL: 'https://a.example',
            apiKeyEnv: 'K',
            models: [{ id: 'm', contextWindow: -1 }],
          },
        ],
      }),
    );
    expect(message).toContain(
      'providers[0].models[0].contextWindow: Expected a positive integer, got `-1` (number)',
    );
  });

  it("bounds a model's default fallbacks and requires each one's model", () => {
    const fallback = { provider: 'glm', model: 'glm-4.6' };
    const many = messageOf(() =>
      parseProvidersFile({ kimi: { models: [{ id: 'kimi-k2.6', fallbacks: Array(5).fill(fallback) }] } }),
    );
    expect(many).toContain('kimi.models[0].fallbacks: Expected at most 4 fallbacks');
    const noModel = messageOf(() =>
      parseProvidersFile({ kimi: { models: [{ id: 'kimi-k2.6', fallbacks: [{ provider: 'glm' }] }] } }),
    );
    expect(noModel).toContain('kimi.models[0].fallbacks[0].model: Expected a model id string');
  });
});

describe("a model's default fallbacks from the providers file", () => {
  it('reach the router, so a request that names none gets them', async () => {
    const dir = tempDir('troupe-fallbacks-');
    const path = join(dir, 'providers.json');
    const fallbacks = [{ provider: 'glm', model: 'glm-4.6' }];
    await writeFile(
      path,
      JSON.stringify({ kimi: { models: [{ id: 'kimi-k2.6', contextWindow: 262144, fallbacks }] } }),
    );
    const loaded = await loadProviders({
      configPath: path,
      env: { KIMI_API_KEY: 'k-123456789', ZAI_API_KEY: 'z-123456789' },
    });
    try {
      expect(
        loaded.registry.router({ messages: [], provider: 'kimi', model: 'kimi-k2.6' }).fallbacks,
      ).toEqual(fallbacks);
      expect(
        loaded.registry.router({ messages: [], provider: 'glm', model: 'glm-4.6' }).fallbacks,
      ).toBeUndefined();
    } finally {
      await loaded.close();
    }
  });
});

describe('loadProviders', () => {
  it('with no key at all, serves the simulated provider and lists Kimi and GLM as unconfigured', async () => {
    const loaded = await loadProviders({ env: {} });
    expect(loaded.simulated).toBe(true);
    expect(loaded.providers.map((p) => p.name)).toEqual(['simulated']);
    expect(loaded.registry.list().map((p) => [p.name, p.configured])).toEqual([
      ['simulated', true],
      ['kimi', false],
      ['glm', false],
    ]);
    expect(loaded.registry.resolve({})).toMatchObject({ provider: 'simulated' });
    await loaded.close();
  });

  it('includes Kimi and GLM when their keys are set, each under its own variable names', async () => {
    const loaded = await loadProviders({ env: { KIMI_API_KEY: 'k-123456789', ZAI_API_KEY: 'z-123456789' } });
    expect(loaded.simulated).toBe(false);
    expect(loaded.providers.map((p) => [p.name, (p as { baseURL?: string }).baseURL])).toEqual([
      ['kimi', 'https://api.moonshot.ai/v1'],
      ['glm', 'https://api.z.ai/api/paas/v4'],
    ]);
    expect(loaded.defaults).toEqual({ provider: 'kimi' });
    await loaded.close();
  });

  it('reads a config file and the TROUPE_OPENAI_* variables, with per-provider limits', async () => {
    const dir = tempDir('troupe-config-');
    const path = join(dir, 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [
          {
            name: 'vllm',
            baseURL: 'http://127.0.0.1:8000/v1',
            apiKeyEnv: 'VLLM_KEY',
            maxConcurrent: 3,
            models: [{ id: 'qwen', contextWindow: 32768 }],
          },
          { name: 'other', baseURL: 'http://127.0.0.1:8001/v1', apiKeyEnv: 'OTHER_KEY' },
        ],
        defaults: { provider: 'vllm', model: 'qwen' },
      }),
    );
    const loaded = await loadProviders({
      configPath: path,
      env: {
        VLLM_KEY: 'v-123456789',
        TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9000/v1',
        TROUPE_OPENAI_API_KEY: 'o-123456789',
        TROUPE_OPENAI_MODELS: 'llama-3=8192, mistral, tuned=v2, tuned=v3=4096',
      },
    });
    expect(loaded.providers.map((p) => p.name)).toEqual(['openai', 'vllm']);
    expect(loaded.perProviderLimits).toEqual({ vllm: 3 });
    expect(loaded.defaults).toEqual({ provider: 'vllm', model: 'qwen' });
    expect(loaded.registry.list().find((p) => p.name === 'other')?.configured).toBe(false);
    expect(loaded.registry.lookup('openai', 'llama-3')?.contextWindow).toBe(8192);
    expect(loaded.registry.resolve({ model: 'mistral' })).toEqual({ provider: 'openai', model: 'mistral' });
    // An id may contain `=`: only a trailing integer is a window.
    expect(loaded.registry.lookup('openai', 'tuned=v2')).toMatchObject({ id: 'tuned=v2' });
    expect(loaded.registry.lookup('openai', 'tuned=v2')?.contextWindow ?? null).toBeNull();
    expect(loaded.registry.lookup('openai', 'tuned=v3')?.contextWindow).toBe(4096);
    await loaded.close();
  });

  it("gives each preset what a 429 pauses as its vendor counts (GLM per model); the file's `cooldownScope` overrides it", async () => {
    const env = { KIMI_API_KEY: 'k-123456789', ZAI_API_KEY: 'z-123456789', VLLM_KEY: 'v-123456789' };
    const scopes = (loaded: Awaited<ReturnType<typeof loadProviders>>) =>
      Object.fromEntries(loaded.providers.map((p) => [p.name, p.cooldownScope]));
    const plain = await loadProviders({ env });
    expect(scopes(plain)).toEqual({ kimi: undefined, glm: 'model' });
    await plain.close();
    const dir = tempDir('troupe-config-');
    const path = join(dir, 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        kimi: { cooldownScope: 'model' },
        glm: { cooldownScope: 'provider' },
        providers: [
          {
            name: 'vllm',
            baseURL: 'http://127.0.0.1:8000/v1',
            apiKeyEnv: 'VLLM_KEY',
            cooldownScope: 'model',
          },
        ],
      }),
    );
    const overridden = await loadProviders({ configPath: path, env });
    expect(scopes(overridden)).toEqual({ kimi: 'model', glm: 'provider', vllm: 'model' });
    await overridden.close();
    expect(messageOf(() => parseProvidersFile({ glm: { cooldownScope: 'account' } }))).toContain(
      'glm.cooldownScope: Expected `provider` or `model`, got `"account"`',
    );
  });

  it('refuses a pool below its provider’s concurrency whether or not its key is set, naming the file', async () => {
    // Checked only as the adapter was made: `troupe models` took the file with no key, and the start
    // failed once the key was set, without naming the file.
    const dir = tempDir('troupe-config-');
    const path = join(dir, 'pools.json');
    const cases = [
      [{ kimi: { maxConcurrent: 8, maxSockets: 4 } }, 'kimi', { MOONSHOT_API_KEY: 'sk-kimi' }],
      [{ glm: { maxConcurrent: 8, maxSockets: 4 } }, 'glm', { ZAI_API_KEY: 'sk-glm' }],
      [
        {
          providers: [
            {
              name: 'vllm',
              baseURL: 'http://127.0.0.1:1/v1',
              apiKeyEnv: 'V_KEY',
              maxConcurrent: 8,
              maxSockets: 4,
            },
          ],
        },
        'providers[0]',
        { V_KEY: 'sk-v' },
      ],
    ] as const;
    for (const [file, where, key] of cases) {
      await writeFile(path, JSON.stringify(file));
      for (const env of [{}, key]) {
        await expect(loadProviders({ configPath: path, env })).rejects.toThrow(
          `${path}: ${where}.maxSockets: Expected at least \`maxConcurrent\` (8) sockets, got 4`,
        );
      }
    }
  });

  it('refuses a model’s fallback to a provider nothing defines at load, naming the file and the field, and takes any defined one', async () => {
    // Resolved only as each call was submitted: the typo passed `troupe models` and the start, and
    // every call to that model was refused with "fallbacks[0]: ..." alone.
    const dir = tempDir('troupe-config-');
    const path = join(dir, 'fallbacks.json');
    const fallbackTo = (provider: string) => [{ provider, model: 'm' }];
    const file = (provider: string) => ({
      kimi: { models: [{ id: 'kimi-k2.6', fallbacks: [{ model: 'moonshot-v1-8k' }] }] },
      providers: [
        { name: 'vllm', baseURL: 'http://127.0.0.1:1/v1', apiKeyEnv: 'V_KEY' },
        {
          name: 'local',
          baseURL: 'http://127.0.0.1:2/v1',
          apiKeyEnv: 'L_KEY',
          models: [{ id: 'a' }, { id: 'b', fallbacks: [...fallbackTo('vllm'), ...fallbackTo(provider)] }],
        },
      ],
    });
    for (const env of [{}, { MOONSHOT_API_KEY: 'sk-kimi', V_KEY: 'sk-v', L_KEY: 'sk-l' }]) {
      await writeFile(path, JSON.stringify(file('vlm')));
      await expect(loadProviders({ configPath: path, env })).rejects.toThrow(
        `${path}: providers[1].models[1].fallbacks[1].provider: Expected one of the providers \`kimi\`, \`glm\`, \`vllm\`, \`local\`, got "vlm"`,
      );
      // Any provider defined, with its key or not, in the file or the environment.
      for (const provider of ['glm', 'kimi', 'local', 'vllm', 'mine']) {
        await writeFile(path, JSON.stringify(file(provider)));
        const loaded = await loadProviders({
          configPath: path,
          env: { ...env, TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:3/v1', TROUPE_OPENAI_NAME: 'mine' },
        });
        await loaded.close();
      }
    }
    await writeFile(path, JSON.stringify({ glm: { models: [{ id: 'g', fallbacks: fallbackTo('kimmi') }] } }));
    await expect(loadProviders({ configPath: path, env: {} })).rejects.toThrow(
      `${path}: glm.models[0].fallbacks[0].provider: Expected one of the providers \`kimi\`, \`glm\`, got "kimmi"`,
    );
  });

  it('refuses a file that is not JSON, naming the file', async () => {
    const dir = tempDir('troupe-config-');
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ nope');
    await expect(loadProviders({ configPath: path, env: {} })).rejects.toThrow(`${path}: Expected JSON`);
  });
});

describe('the default model (`defaults.model`, TROUPE_DEFAULT_MODEL)', () => {
  // `troupe serve` and `troupe stdio` route through the registry, which ignored it: a chat naming
  // no model got MODEL_NOT_FOUND ("got none (pass one)") from an open provider, and the provider's
  // first listed model where it listed several.
  it('reaches the router: a request naming no model gets it', async () => {
    const env = {
      TROUPE_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      TROUPE_OPENAI_API_KEY: 'k-123456789',
      TROUPE_DEFAULT_MODEL: 'my-model',
    };
    const open = await loadProviders({ env });
    const listed = await loadProviders({ env: { ...env, TROUPE_OPENAI_MODELS: 'first-model,my-model' } });
    try {
      expect(open.registry.router({ messages: [] })).toMatchObject({ provider: 'openai', model: 'my-model' });
      expect(open.registry.router({ messages: [], provider: 'openai' })).toMatchObject({
        model: 'my-model',
      });
      expect(listed.registry.router({ messages: [] })).toMatchObject({ model: 'my-model' });
      // A model the request names still wins.
      expect(listed.registry.router({ messages: [], model: 'first-model' })).toMatchObject({
        model: 'first-model',
      });
    } finally {
      await open.close();
      await listed.close();
    }
  });

  it('from the providers file, for its default provider only', async () => {
    const dir = tempDir('troupe-default-model-');
    const path = join(dir, 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [
          { name: 'mine', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MINE_KEY' },
          { name: 'other', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MINE_KEY', defaultModel: 'o-1' },
        ],
        defaults: { provider: 'mine', model: 'm-2' },
      }),
    );
    const loaded = await loadProviders({ configPath: path, env: { MINE_KEY: 'k-123456789' } });
    try {
      expect(loaded.registry.router({ messages: [] })).toMatchObject({ provider: 'mine', model: 'm-2' });
      expect(loaded.registry.router({ messages: [], provider: 'other' })).toMatchObject({ model: 'o-1' });
    } finally {
      await loaded.close();
    }
  });

  // With no key set, both were dropped unseen: TROUPE_DEFAULT_MODEL=sim-pro still gave sim-fast,
  // and a default naming a real vendor's model gave sim-fast without a word.
  it('with no key: a simulated model is honoured, anything else is said as ignored', async () => {
    const sim = await loadProviders({ env: { TROUPE_DEFAULT_MODEL: 'sim-pro' } });
    expect(sim.registry.router({ messages: [] })).toMatchObject({ provider: 'simulated', model: 'sim-pro' });
    expect(sim.defaults).toEqual({ provider: 'simulated', model: 'sim-pro' });
    expect(sim.ignored).toEqual([]);
    const vendor = await loadProviders({
      env: { TROUPE_DEFAULT_MODEL: 'kimi-k2.5', TROUPE_DEFAULT_PROVIDER: 'kimi' },
    });
    expect(vendor.registry.router({ messages: [] })).toMatchObject({
      provider: 'simulated',
      model: 'sim-fast',
    });
    expect(vendor.defaults).toEqual({ provider: 'simulated' });
    expect(vendor.ignored.map((x) => x.setting)).toEqual(['TROUPE_DEFAULT_PROVIDER', 'TROUPE_DEFAULT_MODEL']);
    expect(vendor.ignored[1]?.why).toMatch(
      /^"kimi-k2.5" is ignored: no provider key is set.*sim-fast, sim-pro/,
    );
    const dir = tempDir('troupe-default-model-');
    const path = join(dir, 'providers.json');
    await writeFile(path, JSON.stringify({ defaults: { model: 'glm-4.6' } }));
    const file = await loadProviders({ configPath: path, env: {} });
    expect(file.ignored.map((x) => x.setting)).toEqual([`${path}: defaults.model`]);
    // With a key, nothing is ignored.
    const keyed = await loadProviders({
      env: { KIMI_API_KEY: 'k-123456789', TROUPE_DEFAULT_MODEL: 'kimi-k2.5' },
    });
    expect(keyed.ignored).toEqual([]);
    expect(keyed.defaults.model).toBe('kimi-k2.5');
    await Promise.all([sim, vendor, file, keyed].map((l) => l.close()));
  });
});
