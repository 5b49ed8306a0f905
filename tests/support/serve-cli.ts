/**
 * The BUILT `troupe serve` (`npm run build` first) on a free port, with a clean environment but
 * PATH and what the test gives (and its flags after `--port 0`): resolves with the process, its MCP URL from the start line
 * and what it wrote to stderr so far (`stderr()`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { CLI } from './stdio-cli.js';

export async function startServeCli(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ child: ChildProcess; base: URL; stderr: () => string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const base = await new Promise<URL>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1] as string));
    });
    child.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  return { child, base, stderr: () => err };
}
