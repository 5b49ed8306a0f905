/**
 * `troupe config` says when TROUPE_LOG_LEVEL or TROUPE_LOG_FORMAT names nothing it knows. The server
 * starts anyway (at `info`; pretty on a terminal), so without this a typo such as
 * TROUPE_LOG_LEVEL=verbose showed as a plain "info" and TROUPE_LOG_FORMAT=xml as if it applied.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/show-config.js';

const NAMES = ['TROUPE_LOG_LEVEL', 'TROUPE_LOG_FORMAT', 'TROUPE_PROVIDERS_FILE'] as const;
const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));

afterEach(() => {
  vi.restoreAllMocks();
  for (const name of NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

async function config(env: Partial<Record<(typeof NAMES)[number], string>>, argv: string[] = []) {
  for (const name of NAMES) delete process.env[name];
  Object.assign(process.env, env);
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  expect(await command.run(argv)).toBe(0);
  return stdout;
}

describe('troupe config: logging settings it ignores', () => {
  it('names an unknown level and format as ignored', async () => {
    const text = await config({ TROUPE_LOG_LEVEL: 'verbose', TROUPE_LOG_FORMAT: 'xml' });
    expect(text).toContain(
      '  TROUPE_LOG_LEVEL = info ("verbose" is not a level (fatal, error, warn, info, debug, trace, silent): ignored)\n',
    );
    expect(text).toContain(
      '  TROUPE_LOG_FORMAT = xml (not json or pretty: ignored, so pretty on a terminal and json otherwise)\n',
    );
  });

  it('says nothing of a level or format it reads, in any case, or of unset ones', async () => {
    const text = await config({ TROUPE_LOG_LEVEL: ' DEBUG ', TROUPE_LOG_FORMAT: 'JSON' });
    expect(text).toContain('  TROUPE_LOG_LEVEL = debug\n');
    expect(text).toContain('  TROUPE_LOG_FORMAT = JSON\n');
    expect(text).not.toContain('ignored');
    const unset = await config({ TROUPE_LOG_LEVEL: '' });
    expect(unset).toContain('  TROUPE_LOG_LEVEL = info\n');
    expect(unset).toContain('  TROUPE_LOG_FORMAT = (not set)\n');
  });

  it('--json lists them under `ignored`', async () => {
    const out = JSON.parse(await config({ TROUPE_LOG_FORMAT: 'yaml' }, ['--json']));
    expect(out.ignored).toEqual({
      TROUPE_LOG_FORMAT: 'not json or pretty: ignored, so pretty on a terminal and json otherwise',
    });
    expect(JSON.parse(await config({}, ['--json'])).ignored).toEqual({});
  });
});
