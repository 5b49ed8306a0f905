/**
 * The README's quick start on a fresh clone, as a newcomer runs it: `git clone`, `npm ci` (which
 * builds through `prepare`), `npm start`, one MCP call with the SDK client, then stop. It clones the
 * committed HEAD, so it checks what a clone gets, not the working tree. `--prefer-offline` only
 * reuses npm's cache; `--port 0` lets it run beside another server on 7801.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('troupe-quickstart-');
let start: ChildProcess | undefined;

afterAll(() => {
  // npm start runs a shell and node under it: signal the whole group.
  if (start?.pid !== undefined && start.exitCode === null) {
    try {
      process.kill(-start.pid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('README quick start on a fresh clone', () => {
  it('npm ci && npm start answers an MCP call within seconds of the install, and stops on SIGTERM', async () => {
    const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
    const clone = join(dir, 'troupe');
    execFileSync('git', ['clone', '--quiet', root, clone]);
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' };
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: clone,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });

    // npm ci built dist/ through `prepare`; npm start must find it up to date and compile nothing.
    const builtAt = statSync(join(clone, 'dist', '.built')).mtimeMs;
    start = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: clone,
      env: { ...env, TROUPE_LOG_FORMAT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let err = '';
    // The pipe closes when the last process holding it (npm, sh, node) has gone.
    const closed = new Promise<void>((resolve) => start!.stderr!.once('close', () => resolve()));
    const url = await new Promise<URL>((resolve, reject) => {
      start!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /serving MCP at (\S+?)[;\s"]/.exec(err);
        if (m) resolve(new URL(m[1]!));
      });
      start!.once('exit', () => reject(new Error(`npm start exited: ${err}`)));
    });
    expect(statSync(join(clone, 'dist', '.built')).mtimeMs).toBe(builtAt);
    expect(err).not.toContain('compiling TypeScript');
    expect(err).toContain('using the simulated provider');

    const client = new Client({ name: 'quickstart', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url));
    const result = await client.callTool({ name: 'chat', arguments: { prompt: 'Hello' } });
    await client.close();
    const structured = result.structuredContent as { ok: boolean; session: { state: string } };
    expect(structured.ok).toBe(true);
    expect(structured.session.state).toBe('done');

    // As Ctrl-C would: the signal reaches npm and the server; the server drains and says so.
    process.kill(-start.pid!, 'SIGTERM');
    await closed;
    expect(err).toMatch(/SIGTERM: stopped; 0 session\(s\) finished while draining, 0 cancelled/);
  }, 600_000);
});
