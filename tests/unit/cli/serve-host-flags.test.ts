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
});
