/**
 * A default model with no default provider (TROUPE_DEFAULT_MODEL, or the file's `defaults.model`
 * alone) goes to a configured provider whose models list it, as `troupe ask --model` does. Until
 * 2026-12-07 it went to the first configured provider whatever the model: with Kimi's and GLM's
 * keys set, TROUPE_DEFAULT_MODEL=glm-4.6 sent every call naming no model to Moonshot as `glm-4.6`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const keys = { MOONSHOT_API_KEY: 'sk-kimi-123456789', ZAI_API_KEY: 'zai-123456789' };

describe('a default model without a default provider', () => {
  it('goes to the configured provider that lists it', async () => {
    const loaded = await loadProviders({ env: { ...keys, TROUPE_DEFAULT_MODEL: 'glm-4.6' } });
    try {
      expect(loaded.defaults).toEqual({ provider: 'glm', model: 'glm-4.6' });
      expect(loaded.registry.router({ messages: [] })).toMatchObject({ provider: 'glm', model: 'glm-4.6' });
      // Another provider named by the call keeps its own default.
      expect(loaded.registry.router({ messages: [], provider: 'kimi' })).toMatchObject({
        provider: 'kimi',
        model: 'kimi-k2.7-code',
      });
    } finally {
      await loaded.close();
    }
  });

  it('from the providers file, to one of its own providers', async () => {
    const path = join(tempDir('troupe-default-model-provider-'), 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [
          { name: 'vllm', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'VLLM_KEY', models: [{ id: 'qwen' }] },
        ],
        defaults: { model: 'qwen' },
      }),
    );
    const loaded = await loadProviders({ configPath: path, env: { ...keys, VLLM_KEY: 'k-123456789' } });
    try {
      expect(loaded.defaults).toEqual({ provider: 'vllm', model: 'qwen' });
    } finally {
      await loaded.close();
    }
  });

  it('a default provider, or a model no configured provider lists, keeps the order it had', async () => {
    const named = await loadProviders({
      env: { ...keys, TROUPE_DEFAULT_PROVIDER: 'kimi', TROUPE_DEFAULT_MODEL: 'glm-4.6' },
    });
    const unknown = await loadProviders({ env: { ...keys, TROUPE_DEFAULT_MODEL: 'some-new-model' } });
    const unkeyed = await loadProviders({
      env: { MOONSHOT_API_KEY: keys.MOONSHOT_API_KEY, TROUPE_DEFAULT_MODEL: 'glm-4.6' },
    });
    try {
      expect(named.defaults).toEqual({ provider: 'kimi', model: 'glm-4.6' });
      expect(unknown.defaults).toEqual({ provider: 'kimi', model: 'some-new-model' });
      expect(unkeyed.defaults).toEqual({ provider: 'kimi', model: 'glm-4.6' });
    } finally {
      await Promise.all([named, unknown, unkeyed].map((l) => l.close()));
    }
  });
});
