/**
 * `troupe load --url` against `troupe serve`, both the BUILT CLI: the mixed load through the real MCP
 * client, the same summary, and the server's own /metrics agreeing on how many sessions ended.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';
let server: ChildProcess | undefined;

afterEach(() => {
  server?.kill('SIGKILL');
  server = undefined;
});

async function serve(env: Record<string, string> = {}): Promise<URL> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise<URL>((resolve, reject) => {
    server!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1]!));
    });
    server!.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
}

function load(url: URL, sessions: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'load', '--url', url.href, '--sessions', String(sessions), '--concurrency', '10', '--seed', '5'],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

async function endedOnServer(url: URL): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  return [...text.matchAll(/^troupe_sessions_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('troupe load (built CLI)', () => {
  it('refuses a server with real providers before any call: they would be paid for', async () => {
    // Before, the load's sim-* models went to Kimi (its model list is open), and the summary put
    // the failures down to injected faults and an open breaker.
    const url = await serve({
      MOONSHOT_API_KEY: 'sk-load-test-0123456789',
      KIMI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    const { code, stdout, stderr } = await load(url, 6);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'troupe load: Expected a server on the simulated provider (list_models says `simulated: true` when no provider key is set), got one at',
    );
    expect(stderr).toMatch(
      /answers with real providers: the load's calls \(models sim-\*, injected faults\) would go to its providers and be paid for/,
    );
    expect(stdout).toBe('');
    expect(await endedOnServer(url)).toBe(0);
  });

  it('runs the mixed load over MCP and reports every call ended exactly once', async () => {
    const url = await serve();
    const { code, stdout } = await load(url, 60);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[\s*\d+\.\ds\] \d+\/60 ended {2}in flight=\d+/m);
    const counts = Object.fromEntries<number>(
      [...stdout.matchAll(/^(done|failed|timedOut|cancelled)\s+(\d+)\s+[\d.]+$/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(0);
    expect(stdout).toContain('check: every session ended exactly once (60 of 60)');
    // The server counted the same sessions (cancelled ones end there once the cancel lands).
    let total = 0;
    for (let i = 0; i < 50 && total < 60; i++) {
      total = await endedOnServer(url);
      if (total < 60) await new Promise((r) => setTimeout(r, 100));
    }
    expect(total).toBe(60);
  });
});
