/**
 * `troupe config` says which Redis `serve` would use from `TROUPE_REDIS_URL` (its user and password
 * hidden), and refuses one `serve` would refuse. Until 2026-12-04 it did not mention Redis at all.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/show-config.js';

const saved = process.env.TROUPE_REDIS_URL;

afterEach(() => {
  vi.restoreAllMocks();
  if (saved === undefined) delete process.env.TROUPE_REDIS_URL;
  else process.env.TROUPE_REDIS_URL = saved;
});

async function config(url: string | undefined, argv: string[] = []): Promise<{ code: number; out: string }> {
  if (url === undefined) delete process.env.TROUPE_REDIS_URL;
  else process.env.TROUPE_REDIS_URL = url;
  let out = '';
  const capture = (chunk: unknown) => {
    out += String(chunk);
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const code = await command.run(argv);
  return { code, out };
}

describe('troupe config and TROUPE_REDIS_URL', () => {
  it('shows the URL without its password, in text and JSON', async () => {
    const text = await config('redis://:pw-SECRET-9@10.0.0.5:6379/2');
    expect(text.code).toBe(0);
    expect(text.out).toContain('TROUPE_REDIS_URL = redis://***@10.0.0.5:6379/2');
    const json = await config('redis://:pw-SECRET-9@10.0.0.5:6379/2', ['--json']);
    expect(JSON.parse(json.out).environment.TROUPE_REDIS_URL).toBe('redis://***@10.0.0.5:6379/2');
    expect(text.out + json.out).not.toContain('pw-SECRET-9');
  });

  it('says not set when unset, or set empty (as serve takes it: a compose file’s unset `$REDIS_URL`)', async () => {
    expect((await config(undefined)).out).toContain('TROUPE_REDIS_URL = (not set)');
    const empty = await config(' ');
    expect(empty.code).toBe(0);
    expect(empty.out).toContain('TROUPE_REDIS_URL = (not set)');
  });

  it('refuses what serve refuses, by the variable’s name, exit code 2', async () => {
    const { code, out } = await config('http://:pw-SECRET-9@host:6379');
    expect(code).toBe(2);
    expect(out).toMatch(/^troupe config: TROUPE_REDIS_URL: Expected a Redis URL such as redis:\/\//);
    expect(out).not.toContain('pw-SECRET-9');
  });
});
