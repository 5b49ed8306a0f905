/**
 * `troupe load --url` with a user or password in it is refused before connecting, without showing
 * them. Before, fetch refused the URL and the one line printed its message, which carries the URL
 * whole: `Request cannot be constructed from a URL that includes credentials: http://u:pw@...`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/load.js';

afterEach(() => vi.restoreAllMocks());

describe('troupe load --url with credentials', () => {
  it('one line, exit code 2, the password nowhere', async () => {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const code = await command.run(['--url', 'http://ops:Zq9pw@127.0.0.1:9/mcp', '--sessions', '1']);
    expect(stderr).toBe(
      'troupe load: Expected `--url` without a user or password (the server takes a bearer token: set TROUPE_TOKEN), got http://***@127.0.0.1:9/mcp\n',
    );
    expect(code).toBe(2);
  });

  it('refuses a URL of another scheme before connecting, one line, exit code 2', async () => {
    // Before: "troupe load: cannot connect to ftp://x/mcp: fetch failed", exit code 1.
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const url of ['ftp://127.0.0.1:9/mcp', 'file:///tmp/mcp', 'ws://127.0.0.1:9/mcp']) {
      stderr = '';
      expect(await command.run(['--url', url, '--sessions', '1'])).toBe(2);
      expect(stderr).toBe(
        `troupe load: Expected \`--url\` to be an http or https URL such as http://127.0.0.1:7801/mcp, got ${url.split(':')[0]}\n`,
      );
    }
    expect(stdout).not.toHaveBeenCalled();
  });
});
