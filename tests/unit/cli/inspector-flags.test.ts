/**
 * `troupe inspector --port` reads the port as `serve` does: plain digits from 0 to 65535, else one
 * line and exit 2; so is a host off this machine (exit 1 until 2026-12-04, where `serve` gave 2).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command, notLoopback } from '../../../src/cli/inspector.js';

afterEach(() => vi.restoreAllMocks());

describe('troupe inspector --port', () => {
  it('refuses what is not plain digits in range, which Number() read as a port (0x1f, 1e3, the empty string)', async () => {
    for (const port of ['1e3', '0x1f', '70000', 'abc', '8.5', '']) {
      let stderr = '';
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      expect(await command.run(['--port', port])).toBe(2);
      expect(stderr).toBe(
        `troupe inspector: Expected \`--port\` to be an integer from 0 to 65535, got \`${port}\`\n`,
      );
      vi.restoreAllMocks();
    }
  });
});

describe('troupe inspector --host', () => {
  it('refuses a host off this machine with one line and exit 2, before it listens', async () => {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    expect(await command.run(['--host', '0.0.0.0', '--port', '0'])).toBe(2);
    expect(stderr.split('\n')).toHaveLength(2);
    // It says what `--host` is and why it is held to loopback (until 2026-12-07 the inspector URL's words).
    expect(stderr).toBe(
      'troupe inspector: Expected `--host`, the address the relay listens on, to be a loopback one (127.0.0.1, ::1 or localhost), got "0.0.0.0": the relay passes on every inspected session\'s prompts and answers, so it listens on this machine only; to watch from another machine, forward the port (e.g. `ssh -L 8080:127.0.0.1:8080 this-host`)\n',
    );
  });

  it('takes every loopback address as the relay’s, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])
      expect(notLoopback(host)).toBeUndefined();
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com', '127.0.0.1.example.com'])
      expect(notLoopback(host)).toMatch(
        /^Expected `--host`, the address the relay listens on, to be a loopback one/,
      );
  });
});
