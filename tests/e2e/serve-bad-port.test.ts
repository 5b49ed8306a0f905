/**
 * `troupe serve` on one of the Fetch standard's bad ports (6000, 6665 to 6669, 10080, ...) warns at
 * start, naming the port and why: browsers refuse it (the dashboard will not open), and so does
 * fetch, the MCP SDK's client on Node. It still serves (curl and other clients work). Until
 * 2026-12-07 it started without a word. The BUILT CLI (`npm run build` first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { badPortWarning } from '../../src/cli/bad-ports.js';
import { CLI } from '../support/stdio-cli.js';

it('names the bad ports and no other', () => {
  for (const port of [1, 22, 6000, 6665, 6669, 6679, 10080])
    expect(badPortWarning(port)).toMatch(
      new RegExp(`^port ${port} is one of the Fetch standard's bad ports`),
    );
  for (const port of [80, 443, 3000, 5999, 6001, 6664, 6670, 7801, 8080, 10079, 10081, 65535])
    expect(badPortWarning(port)).toBeUndefined();
});

const started: ChildProcess[] = [];
// Here, not in the test's `finally`: a test that times out does not run it, and left the server on its port.
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGTERM');
});

it('warns at start on a port browsers refuse, and serves all the same', { timeout: 60_000 }, async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  // osaut: in the list since 2024, and seldom taken on a test machine.
  const port = 6679;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await expect.poll(() => err, { timeout: 30_000 }).toMatch(/bad ports/);
  const lines = err
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string; port?: number });
  const warning = lines.find((l) => l.msg.includes('bad ports'));
  expect(warning).toMatchObject({ level: 'warn', port });
  expect(warning?.msg).toBe(badPortWarning(port));
  expect(lines.some((l) => l.msg.startsWith(`serving MCP at http://127.0.0.1:${port}/mcp`))).toBe(true);
  expect(child.exitCode).toBeNull();
});
