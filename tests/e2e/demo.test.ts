/**
 * `troupe demo` as a user runs it (the BUILT CLI), with stdout not a TTY: plain progress lines,
 * the summary table, and the exactly-once check. Run `npx tsc -p tsconfig.build.json` first.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

describe('troupe demo (built CLI)', () => {
  it('runs the mixed load, prints plain progress and a summary in which every session ended once', async () => {
    const { code, stdout, stderr } = await run([
      'demo',
      '--sessions',
      '80',
      '--concurrency',
      '8',
      '--seed',
      '4',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain('\x1b[');
    // Run beside `npm start`, the demo left the server's dashboard at zero: it says so first.
    expect(stdout.split('\n')[1]).toBe(
      "(in this process, on its own runtime: a server's dashboard does not show it; `troupe load --url <server>/mcp` sends the same mix to one)",
    );
    expect(stdout).toMatch(/^\[\s*\d+\.\ds\] \d+\/80 ended {2}queued=\d+ calling=\d+/m);
    const counts = Object.fromEntries<number>(
      [...stdout.matchAll(/^(done|failed|timedOut|cancelled)\s+(\d+)\s+[\d.]+$/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    expect(Object.keys(counts)).toHaveLength(4);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(80);
    // The mix has every outcome in it.
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(0);
    expect(stdout).toMatch(/^queue wait\s+\d+\s+\d+\s+\d+\s+\d+$/m);
    expect(stdout).toMatch(/^run time\s+\d+\s+\d+\s+\d+\s+\d+$/m);
    expect(stdout).toContain('check: every session ended exactly once (80 of 80)');
  });

  it('ends quietly, exit 0, when the reader of its output leaves (`troupe demo | head -1`)', async () => {
    // Until 2026-12-07 the next progress line failed EPIPE: a stack trace on stderr and exit 1.
    const child = spawn(process.execPath, [CLI, 'demo', '--sessions', '2000', '--rate', '200'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('refuses bad options with exit code 2 and says what it expected', async () => {
    const { code, stderr } = await run(['demo', '--sessions', 'many']);
    expect(code).toBe(2);
    expect(stderr).toContain('Expected `--sessions` to be an integer from 1 to 1000000, got `many`');
  });
});
