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
