/**
 * A section or an entry of the providers file that is not the object it should be (`"kimi": "x"`,
 * `"models": ["qwen"]`) is refused in the words the other fields use: until 2026-12-07 its line
 * read "kimi: Expected Invalid input: expected object, received string, got ...", zod's own
 * message put where the expected kind goes.
 */
import { describe, expect, it } from 'vitest';
import { parseProvidersFile } from '../../../src/providers/config.js';

const entry = { name: 'v', baseURL: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'V_KEY' };

describe('a providers file whose section is of the wrong kind', () => {
  it.each([
    [{ providers: ['x'] }, 'providers[0]: Expected an object, got `"x"` (string)'],
    [{ kimi: 'x' }, 'kimi: Expected an object, got `"x"` (string)'],
    [{ glm: 1 }, 'glm: Expected an object, got `1` (number)'],
    [{ defaults: 'x' }, 'defaults: Expected an object, got `"x"` (string)'],
    [{ defaults: { provider: 3 } }, 'defaults.provider: Expected a string, got `3` (number)'],
    [{ runtime: [] }, 'runtime: Expected an object, got `[]` (array)'],
    [
      { providers: [{ ...entry, models: ['qwen'] }] },
      'providers[0].models[0]: Expected an object, got `"qwen"` (string)',
    ],
    [
      { kimi: { models: [{ id: 'k', capabilities: true }] } },
      'kimi.models[0].capabilities: Expected an object, got `true` (boolean)',
    ],
    [
      { glm: { models: [{ id: 'g', fallbacks: ['glm-4.7'] }] } },
      'glm.models[0].fallbacks[0]: Expected an object, got `"glm-4.7"` (string)',
    ],
  ])('%j names the kind it expected (%s)', (file, line) => {
    expect(() => parseProvidersFile(file, 'p.json')).toThrow(`p.json: ${line}`);
    expect(() => parseProvidersFile(file, 'p.json')).not.toThrow(/Invalid input/);
  });

  it('keeps a field’s own words where the schema has them', () => {
    expect(() => parseProvidersFile({ kimi: { strictModels: 'yes' } }, 'p.json')).toThrow(
      'p.json: kimi.strictModels: Expected a boolean, got `"yes"` (string)',
    );
  });
});

describe('a providers file entry’s maxTokensField', () => {
  it('takes `max_tokens` and `max_completion_tokens`', () => {
    for (const maxTokensField of ['max_tokens', 'max_completion_tokens'])
      expect(parseProvidersFile({ providers: [{ ...entry, maxTokensField }] }).providers?.[0]).toMatchObject({
        maxTokensField,
      });
  });

  it('refuses another name, naming the two it takes', () => {
    expect(() =>
      parseProvidersFile({ providers: [{ ...entry, maxTokensField: 'max_completion_token' }] }, 'p.json'),
    ).toThrow(
      'p.json: providers[0].maxTokensField: Expected `max_tokens` or `max_completion_tokens`, got `"max_completion_token"` (string)',
    );
  });

  it('is not a field of the kimi and glm sections (Kimi sends `max_completion_tokens` already)', () => {
    expect(() => parseProvidersFile({ glm: { maxTokensField: 'max_tokens' } }, 'p.json')).toThrow(
      'p.json: glm: Expected only known fields, got `maxTokensField`',
    );
  });
});
