/**
 * `troupe serve --host` and `--allowed-hosts` with nothing in them are refused at start. Before,
 * `--host ""` (say `--host $HOST` with HOST unset in a unit file) served on 127.0.0.1 as if the
 * flag were absent, and `--allowed-hosts ""` or `,` started a server that answered every MCP
 * request 403, probes 200, so it looked healthy.
 */
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

describe('troupe serve host flags', () => {
  it('refuses an empty --host', async () => {
    for (const host of ['', ' ']) {
      expect(await refused(['--port', '0', '--host', host])).toEqual({
        code: 2,
        stderr:
          'troupe serve: Expected `--host` to be an address to bind (e.g. 127.0.0.1 or 0.0.0.0), got an empty string\n',
      });
    }
  });

  it('refuses --allowed-hosts that names no host', async () => {
    for (const list of ['', ',', ' , ']) {
      expect(await refused(['--port', '0', '--allowed-hosts', list])).toEqual({
        code: 2,
        stderr: `troupe serve: Expected \`--allowed-hosts\` to name at least one host (comma-separated), got \`${list}\`\n`,
      });
    }
  });

  it('refuses --allowed-origins that names no origin, or an entry that could never match', async () => {
    expect(await refused(['--port', '0', '--allowed-origins', ' , '])).toEqual({
      code: 2,
      stderr:
        'troupe serve: Expected `--allowed-origins` to name at least one origin (comma-separated), got ` , `\n',
    });
    // A port without a scheme: as a name it would match nothing, so every page stayed refused.
    expect(await refused(['--port', '0', '--allowed-origins', 'localhost:6274'])).toEqual({
      code: 2,
      stderr:
        'troupe serve: Expected `--allowed-origins` entries to be an origin (http://localhost:6274) or a host name (app.example.com), got `localhost:6274`\n',
    });
  });

  // Refused before any provider or connection, as a usage error (2), not left to the listen (1).
  it('refuses a host off loopback without a token or host list, with exit code 2', async () => {
    const { code, stderr } = await refused(['--port', '0', '--host', '0.0.0.0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^troupe serve: refusing to serve on 0\.0\.0\.0 \(not loopback\) without a token or --allowed-hosts: [^\n]*\n$/,
    );
  });

  it('refuses a --redis URL that cannot be right with exit code 2, before any connection', async () => {
    const { code, stderr } = await refused(['--port', '0', '--redis', 'http://u:Zq9pw@127.0.0.1:6379']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^troupe serve: --redis: Expected a Redis URL such as redis:\/\/.*, got the scheme `http:`/,
    );
    expect(stderr).not.toContain('Zq9pw');
  });
});
