/**
 * A providers file holding JSON that is not an object (`null`, `5`, `"x"`, `[]`) is refused with
 * one line naming the file, from every command: `serve`, `stdio` and `config` read its `runtime`
 * section (src/cli/config.ts), `models` and the start read its providers (src/providers/config.ts).
 * Before, `null` gave "Cannot read properties of null (reading 'providers')", which named nothing,
 * and the others zod's "Expected Invalid input: expected object, received number".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/cli/config.js';
import { loadProviders, parseProvidersFile } from '../../../src/providers/config.js';
import { tempDir } from '../../support/temp-dir.js';

const dir = tempDir('troupe-top-level-');

describe('a providers file that is not a JSON object', () => {
  it.each([
    ['null', 'null'],
    ['5', 'a number'],
    ['"x"', 'a string'],
    ['[]', 'an array'],
  ])('%s is refused as such, naming the file', async (text, kind) => {
    const path = join(dir, `top-${kind.replace(/\W/g, '')}.json`);
    writeFileSync(path, text);
    const expected = `${path}: Expected a JSON object at the top level, got ${kind}`;
    await expect(loadConfig({}, { TROUPE_PROVIDERS_FILE: path })).rejects.toThrow(expected);
    await expect(loadConfig({}, { TROUPE_PROVIDERS_FILE: path })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expected,
    });
    await expect(loadProviders({ env: {}, configPath: path })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expected,
    });
    expect(() => parseProvidersFile(JSON.parse(text), 'p.json')).toThrow(
      `p.json: Expected a JSON object at the top level, got ${kind}`,
    );
  });
});
