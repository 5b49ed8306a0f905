/**
 * `TROUPE_OPENAI_API_KEY` or `TROUPE_OPENAI_MODELS` without `TROUPE_OPENAI_BASE_URL` is refused,
 * naming the missing variable and never the key. Before, the endpoint was dropped without a word:
 * the simulated provider answered every call, and the start said "no provider key set".
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';

const KEY = 'sk-FAKEKEY123456';

async function refusal(env: Record<string, string>): Promise<Error> {
  const error = await loadProviders({ env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(inspect(error, { depth: 6 })).not.toContain(KEY);
  return error as Error;
}

describe('TROUPE_OPENAI_* without TROUPE_OPENAI_BASE_URL', () => {
  it('refuses a key set without the endpoint, naming TROUPE_OPENAI_BASE_URL, never the key', async () => {
    const error = await refusal({ TROUPE_OPENAI_API_KEY: KEY });
    expect(error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(error.message).toBe(
      'TROUPE_OPENAI_BASE_URL: Expected the base URL of the OpenAI-compatible endpoint (e.g. https://api.openai.com/v1) since TROUPE_OPENAI_API_KEY is set, got none; set it, or unset TROUPE_OPENAI_API_KEY',
    );
  });

  it('refuses models (and a key) set without the endpoint', async () => {
    expect((await refusal({ TROUPE_OPENAI_MODELS: 'gpt-4o' })).message).toMatch(
      /^TROUPE_OPENAI_BASE_URL: .* since TROUPE_OPENAI_MODELS is set, got none/,
    );
    expect((await refusal({ TROUPE_OPENAI_API_KEY: KEY, TROUPE_OPENAI_MODELS: 'gpt-4o' })).message).toMatch(
      /since TROUPE_OPENAI_API_KEY and TROUPE_OPENAI_MODELS are set, got none; set it, or unset/,
    );
  });

  it('still takes none of them set, or blank ones, as no endpoint', async () => {
    for (const env of [{}, { TROUPE_OPENAI_API_KEY: ' ', TROUPE_OPENAI_MODELS: '' }]) {
      const loaded = await loadProviders({ env });
      expect(loaded.simulated).toBe(true);
      await loaded.close();
    }
  });
});
