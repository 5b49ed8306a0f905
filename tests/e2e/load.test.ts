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

async function serve(): Promise<URL> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '' },
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

describe('troupe load (built CLI)', () => {
  it('runs the mixed load over MCP and reports every call ended exactly once', async () => {
    const url = await serve();
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'load', '--url', url.href, '--sessions', '60', '--concurrency', '10', '--seed', '5'],
        { env: { PATH: process.env.PATH ?? '' } },
        (error, out) =>
          resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout: out }),
      );
    });
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
    const metrics = new URL('/metrics', url);
    let total = 0;
    for (let i = 0; i < 50 && total < 60; i++) {
      const text = await (await fetch(metrics)).text();
      total = [...text.matchAll(/^troupe_sessions_total\{[^}]*\} (\d+)$/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      if (total < 60) await new Promise((r) => setTimeout(r, 100));
    }
    expect(total).toBe(60);
  });
});
