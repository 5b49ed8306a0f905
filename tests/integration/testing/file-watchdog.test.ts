/**
 * The watchdog of `npm test` (tests/support/file-watchdog.ts): a file whose test never yields is
 * stopped by killing its worker and the processes it started, named in one line, and the files beside it still run and pass.
 * Vitest runs the two fixture files in a child process group of its own, killed whole at the end
 * whatever happened (a watchdog that failed would otherwise leave a worker spinning).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { watchdogLimitMs } from '../../support/file-watchdog.js';
import { tempDir } from '../../support/temp-dir.js';

let group: number | undefined;
const childFile = join(tempDir('troupe-watchdog-'), 'child.pid');

afterEach(() => {
  if (group !== undefined) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // The group has ended.
    }
  }
  group = undefined;
});

function runFixtures(limitS: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      resolve('node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'tests/fixtures/watchdog/vitest.config.ts',
      '--reporter=json',
    ],
    {
      detached: true,
      env: { ...process.env, TROUPE_TEST_FILE_LIMIT_S: limitS, TROUPE_WATCHDOG_CHILD_FILE: childFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  group = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

/** Alive and not a zombie: a killed child whose parent went too may wait for its reaping as one. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc here: alive
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('a file that never yields has its worker killed, and the file beside it still passes', async () => {
  const run = await runFixtures('2');
  const line = run.stderr.match(
    /\[watchdog\] (\S+) ran for (\d+) s, past the 2 s limit .*killed its worker \(pid (\d+)\)/,
  );
  expect(line, run.stderr).not.toBeNull();
  expect(line?.[1]).toBe(resolve('tests/fixtures/watchdog/spin.fixture.ts'));
  expect(Number(line?.[2])).toBeGreaterThanOrEqual(2);
  expect(alive(Number(line?.[3]))).toBe(false);
  // The process the spinning file started went with its worker (until 2026-12-08 it ran on).
  const child = Number(readFileSync(childFile, 'utf8'));
  expect(child).toBeGreaterThan(0);
  await expect.poll(() => running(child), { timeout: 5_000 }).toBe(false);
  expect(run.code).not.toBe(0);
  const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as {
    testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
  };
  const calm = report.testResults.find((file) => file.name.endsWith('calm.fixture.ts'));
  expect(calm?.assertionResults).toEqual([expect.objectContaining({ title: 'adds', status: 'passed' })]);
}, 60_000);

it('the limit comes from TROUPE_TEST_FILE_LIMIT_S: 300 s unless set, 0 turns it off, anything else is refused', () => {
  expect(watchdogLimitMs(undefined)).toBe(300_000);
  expect(watchdogLimitMs(' ')).toBe(300_000);
  expect(watchdogLimitMs('2.5')).toBe(2_500);
  expect(watchdogLimitMs('0')).toBe(0);
  expect(() => watchdogLimitMs('five')).toThrow(
    /TROUPE_TEST_FILE_LIMIT_S must be a number of seconds .* got "five"/,
  );
  expect(() => watchdogLimitMs('-1')).toThrow(/got "-1"/);
});
