/**
 * A default provider that has no key, while another provider has one: `serve` and `stdio` (both
 * through `bootstrap`) say so in one warning line at start, naming the provider and the variable
 * to set, and still start. Until 2026-12-07 nothing was said before the first call naming no
 * provider failed NOT_CONFIGURED.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { createLogger } from '../../../src/observe/logger.js';
import { loadProviders } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const GLM_KEY = 'glm-id.0123456789abcdef';
const KIMI_KEY = 'sk-kimi0123456789abcdef';

async function startWarnings(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const { mcp, closeProviders } = await bootstrap({ ...env, TROUPE_ROOTS: tempDir('troupe-roots-') }, logger);
  await mcp.runtime.shutdown({ deadlineMs: 0 });
  await closeProviders();
  return lines.filter((l) => l.level === 'warn');
}

describe('a default provider with no key', () => {
  it('TROUPE_DEFAULT_PROVIDER: one warning at start naming the provider and its variables', async () => {
    const warnings = await startWarnings({ ZHIPUAI_API_KEY: GLM_KEY, TROUPE_DEFAULT_PROVIDER: 'kimi' });
    expect(warnings.map((w) => w.msg)).toEqual([
      'TROUPE_DEFAULT_PROVIDER "kimi" has no API key: calls naming no provider fail with NOT_CONFIGURED (calls naming another provider still work); set MOONSHOT_API_KEY or KIMI_API_KEY',
    ]);
    expect(JSON.stringify(warnings)).not.toContain(GLM_KEY);
  });

  it('the file’s defaults.provider: the warning names the file and the provider’s apiKeyEnv', async () => {
    const path = join(tempDir('troupe-default-'), 'providers.json');
    await writeFile(
      path,
      JSON.stringify({
        providers: [{ name: 'local', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'LOCAL_KEY' }],
        defaults: { provider: 'local' },
      }),
    );
    const warnings = await startWarnings({ ZHIPUAI_API_KEY: GLM_KEY, TROUPE_PROVIDERS_FILE: path });
    expect(warnings.map((w) => w.msg)).toEqual([
      `${path}: defaults.provider "local" has no API key: calls naming no provider fail with NOT_CONFIGURED (calls naming another provider still work); set LOCAL_KEY`,
    ]);
  });

  it('says nothing when the default provider has its key, or none is set', async () => {
    expect(await startWarnings({ ZHIPUAI_API_KEY: GLM_KEY, TROUPE_DEFAULT_PROVIDER: 'glm' })).toEqual([]);
    expect(await startWarnings({ ZHIPUAI_API_KEY: GLM_KEY })).toEqual([]);
  });

  it('still starts: a call naming the configured provider resolves, one naming none is NOT_CONFIGURED', async () => {
    const loaded = await loadProviders({
      env: { ZHIPUAI_API_KEY: GLM_KEY, TROUPE_DEFAULT_PROVIDER: 'kimi' },
    });
    try {
      expect(loaded.registry.resolve({ provider: 'glm' }).provider).toBe('glm');
      expect(() => loaded.registry.resolve({})).toThrow(/Expected provider `kimi` to be configured/);
    } finally {
      await loaded.close();
    }
  });

  it('a default model only an unkeyed provider lists: one warning naming the model, that provider and its variables', async () => {
    const warnings = await startWarnings({ MOONSHOT_API_KEY: KIMI_KEY, TROUPE_DEFAULT_MODEL: 'glm-4.6' });
    expect(warnings.map((w) => w.msg)).toEqual([
      'TROUPE_DEFAULT_MODEL "glm-4.6" is listed only by "glm", which has no API key: calls naming no model go to "kimi", which does not list it; set ZHIPUAI_API_KEY (BigModel host), ZAI_API_KEY or GLM_API_KEY (Z.ai host)',
    ]);
    expect(JSON.stringify(warnings)).not.toContain(KIMI_KEY);
    // Still started: the model goes to the configured provider, as before.
    const loaded = await loadProviders({
      env: { MOONSHOT_API_KEY: KIMI_KEY, TROUPE_DEFAULT_MODEL: 'glm-4.6' },
    });
    try {
      expect(loaded.registry.resolve({})).toEqual({ provider: 'kimi', model: 'glm-4.6' });
    } finally {
      await loaded.close();
    }
  });

  it('says nothing of a default model a keyed provider lists, or that no provider lists', async () => {
    expect(
      await startWarnings({
        MOONSHOT_API_KEY: KIMI_KEY,
        ZHIPUAI_API_KEY: GLM_KEY,
        TROUPE_DEFAULT_MODEL: 'glm-4.6',
      }),
    ).toEqual([]);
    expect(await startWarnings({ MOONSHOT_API_KEY: KIMI_KEY, TROUPE_DEFAULT_MODEL: 'my-fine-tune' })).toEqual(
      [],
    );
  });
});
