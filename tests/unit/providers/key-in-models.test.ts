/**
 * A provider's key pasted into a model setting is refused where the settings are read: a model id
 * goes to every client, in each call's metadata and in `list_models`. Until 2026-12-07 such a key
 * was served as the default model and shown in every answer.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { keyInModels } from '../../../src/providers/key-in-models.js';
import { tempDir } from '../../support/temp-dir.js';

const KIMI = 'sk-kimi-key-in-models-0123456789';
const GLM = 'zai-key-in-models-0123456789';
const VLLM = 'vllm-key-in-models-0123456789';
const keys = { MOONSHOT_API_KEY: KIMI, ZAI_API_KEY: GLM };
const refusal = (where: string) =>
  `${where}: Expected a model id, got a provider's API key (not shown): a model id is shown to every client; put the key in its variable`;

async function fileWith(content: object): Promise<string> {
  const path = join(tempDir('troupe-key-in-models-'), 'providers.json');
  await writeFile(path, JSON.stringify(content));
  return path;
}

describe('a key in a model setting', () => {
  it('as TROUPE_DEFAULT_MODEL, whole or within, any provider’s key, is refused without showing it', async () => {
    for (const model of [KIMI, GLM, `kimi/${GLM}`]) {
      const failed = await loadProviders({ env: { ...keys, TROUPE_DEFAULT_MODEL: model } }).catch(
        (e: Error) => e,
      );
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toBe(refusal('TROUPE_DEFAULT_MODEL'));
    }
  });

  it('in the file’s defaults, a provider’s defaultModel or its models, naming where', async () => {
    const vllm = { name: 'vllm', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'VLLM_KEY' };
    const env = { ...keys, VLLM_KEY: VLLM };
    const cases: [object, string][] = [
      [{ defaults: { model: KIMI } }, 'defaults.model'],
      [{ glm: { defaultModel: KIMI } }, 'provider `glm` defaultModel'],
      [{ kimi: { models: [{ id: GLM }] } }, 'provider `kimi` models'],
      [{ providers: [{ ...vllm, defaultModel: VLLM }] }, 'provider `vllm` defaultModel'],
      [{ providers: [{ ...vllm, models: [{ id: 'qwen' }, { id: VLLM }] }] }, 'provider `vllm` models'],
    ];
    for (const [content, where] of cases) {
      const path = await fileWith(content);
      const failed = await loadProviders({ env, configPath: path }).catch((e: Error) => e);
      expect((failed as Error).message).toBe(
        refusal(where === 'defaults.model' ? `${path}: defaults.model` : where),
      );
    }
  });

  it('leaves model ids that hold no key, and keys too short to be one, alone', async () => {
    const loaded = await loadProviders({ env: { ...keys, TROUPE_DEFAULT_MODEL: 'glm-4.6' } });
    await loaded.close();
    expect(loaded.defaults.model).toBe('glm-4.6');
    const entries = [
      { name: 'p', configured: true, models: [{ id: 'abcdefg-model' }], defaultModel: 'x-abcdefg' },
    ];
    expect(keyInModels(['abcdefg', undefined], entries, 'abcdefg', 'here')).toBeUndefined();
    expect(keyInModels(['abcdefgh'], entries, 'm-abcdefgh', 'here')).toBe(refusal('here'));
    expect(keyInModels(['abcdefgh'], [], undefined, 'here')).toBeUndefined();
  });
});
