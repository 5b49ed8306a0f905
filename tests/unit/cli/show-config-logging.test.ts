/**
 * A TROUPE_LOG_LEVEL or TROUPE_LOG_FORMAT that names nothing known is refused (exit 2) by `troupe
 * config`, `serve` and `stdio` alike (`loadConfig`), as any other bad setting is. Before, the
 * server started at `info` (pretty on a terminal) without a word, and only `troupe config` said
 * the typo was ignored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/cli/config.js';
import { command } from '../../../src/cli/show-config.js';

const NAMES = [
  'TROUPE_LOG_LEVEL',
  'TROUPE_LOG_FORMAT',
  'TROUPE_PROVIDERS_FILE',
  'TROUPE_API_KEY',
  'OPENAI_API_KEY',
] as const;
const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));

afterEach(() => {
  vi.restoreAllMocks();
  for (const name of NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

async function config(env: Partial<Record<(typeof NAMES)[number], string>>, argv: string[] = [], code = 0) {
  for (const name of NAMES) delete process.env[name];
  Object.assign(process.env, env);
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  expect(await command.run(argv)).toBe(code);
  return stdout;
}

describe('logging settings that name nothing known', () => {
  it('refuses an unknown level, naming the variable, the value and the levels', async () => {
    const text = await config({ TROUPE_LOG_LEVEL: 'verbose', TROUPE_LOG_FORMAT: 'json' }, [], 2);
    expect(text).toBe(
      'troupe config: TROUPE_LOG_LEVEL: Expected a level (fatal, error, warn, info, debug, trace, silent), got "verbose"\n',
    );
  });

  it('refuses an unknown format, at start of serve and stdio too (loadConfig)', async () => {
    expect(await config({ TROUPE_LOG_FORMAT: 'xml' }, [], 2)).toBe(
      'troupe config: TROUPE_LOG_FORMAT: Expected json or pretty (unset: pretty on a terminal, json otherwise), got "xml"\n',
    );
    await expect(loadConfig({}, { TROUPE_LOG_LEVEL: 'degub' })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/^TROUPE_LOG_LEVEL: Expected a level .*, got "degub"$/),
    });
    await expect(loadConfig({}, { TROUPE_LOG_FORMAT: 'jsno' })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/^TROUPE_LOG_FORMAT: Expected json or pretty .*, got "jsno"$/),
    });
  });

  it('says nothing of a level or format it reads, in any case, or of unset ones', async () => {
    const text = await config({ TROUPE_LOG_LEVEL: ' DEBUG ', TROUPE_LOG_FORMAT: 'JSON' });
    expect(text).toContain('  TROUPE_LOG_LEVEL = debug\n');
    expect(text).toContain('  TROUPE_LOG_FORMAT = JSON\n');
    expect(text).not.toContain('ignored');
    const unset = await config({ TROUPE_LOG_LEVEL: '' });
    expect(unset).toContain('  TROUPE_LOG_LEVEL = info (not set: the default)\n');
    expect(unset).toContain('  TROUPE_LOG_FORMAT = (not set)\n');
  });

  it('lists the keys `troupe ask --base-url` reads among the secrets, in one column with the rest', async () => {
    const text = await config({ TROUPE_API_KEY: 'sk-not-shown-0123456789' });
    expect(text).not.toContain('sk-not-shown');
    const secrets = text.split('Secrets (values never shown):\n')[1]?.split('\n\n')[0]?.split('\n') ?? [];
    expect(secrets).toContain('  TROUPE_API_KEY        set');
    expect(secrets).toContain('  OPENAI_API_KEY        not set');
    // Every state starts in the same column, the longest name (TROUPE_OPENAI_API_KEY) included.
    const columns = new Set(secrets.map((line) => line.search(/ (set|not set)$/)));
    expect(columns.size).toBe(1);
  });

  it('--json lists nothing of them under `ignored`', async () => {
    expect(JSON.parse(await config({ TROUPE_LOG_FORMAT: 'pretty' }, ['--json'])).ignored).toEqual({});
    expect(JSON.parse(await config({}, ['--json'])).ignored).toEqual({});
  });
});
