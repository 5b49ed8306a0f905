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

  it('takes a sample rate of 1 and one just over 0: what refuses the start then is the URL', async () => {
    for (const rate of ['1', '0.001', ' 1 ']) {
      const { code, stderr } = await refused([
        '--inspect-sample',
        rate,
        '--inspect-url',
        'ws://u:Zq9pw@127.0.0.1:8080',
      ]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^troupe serve: Expected the inspector URL without a user or password/);
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
    // A name that only begins like a loopback address is a name anywhere (it passed before).
    const named = await refused(['--inspect-url', 'ws://127.0.0.1.attacker.example:8080']);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/got "127\.0\.0\.1\.attacker\.example"/);
  });

  it('refuses an inspector URL with a user or password, and never shows them', async () => {
    // Before: taken, and logged whole in the start line (`ws://u:pw@127.0.0.1:8080/`).
    for (const [url, why] of [
      [
        'ws://u:Zq9pw@127.0.0.1:8080',
        'without a user or password (the local inspector takes none), got "ws://***@127.0.0.1:8080"',
      ],
      ['http://u:Zq9pw@127.0.0.1:8080', 'to start with ws:// or wss://, got "http://***@127.0.0.1:8080"'],
      [
        'ws://u:Zq9pw@127.0.0.1:99999',
        'to be a WebSocket URL such as ws://127.0.0.1:8080, got "ws://***@127.0.0.1:99999"',
      ],
    ]) {
      const { code, stderr } = await refused(['--inspect-url', url as string]);
      expect(code).toBe(2);
      expect(stderr).toBe(`troupe serve: Expected the inspector URL ${why}\n`);
    }
  });
});
