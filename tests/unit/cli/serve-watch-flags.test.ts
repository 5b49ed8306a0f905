/** `troupe serve --inspect-*` refuses bad values at start, with one line saying what was expected. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/serve.js';

afterEach(() => vi.restoreAllMocks());

async function refused(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const code = await command.run(argv);
  return { code, stderr };
}

describe('troupe serve inspection flags', () => {
  it('refuses a sample rate outside (0, 1]', async () => {
    for (const rate of ['0', '1.5', 'half', '']) {
      const { code, stderr } = await refused(['--inspect', '--inspect-sample', rate]);
      expect(code).toBe(2);
      expect(stderr).toBe(
        `troupe serve: Expected \`--inspect-sample\` to be a number in (0, 1], got \`${rate}\`\n`,
      );
    }
  });

  it('says in --help that --inspect-url and --inspect-sample each turn inspection on', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    expect(await command.run(['--help'])).toBe(0);
    expect(stdout).toMatch(/--inspect-url URL .*; implies --inspect\n/);
    expect(stdout).toMatch(/--inspect-sample RATE .*; implies --inspect\n/);
  });

  it('refuses an inspector that is not on this machine', async () => {
    const { code, stderr } = await refused(['--inspect-url', 'ws://inspector.example.com:8080']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^troupe serve: Expected the inspector on this machine .* got "inspector\.example\.com"/,
    );
  });
});
