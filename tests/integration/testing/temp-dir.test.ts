/**
 * The suite's temporary directories (tests/support/temp-dir.ts): every one a test file makes goes
 * when the file ends, after the file's own hooks, in a worker shared by several files too; and a
 * test that needs packages missing gets a directory with no `node_modules` above it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import config from '../../../vitest.config.js';
import { baseWithoutNodeModules, nodeModulesAbove, tempDir } from '../../support/temp-dir.js';

it('removes what each file made, wherever in the file it was made, once the file’s own hooks are done', async () => {
  const tmp = tempDir('troupe-temp-dirs-');
  const run = await promisify(execFile)(
    process.execPath,
    [
      resolve('node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'tests/fixtures/temp-dirs/vitest.config.ts',
      '--reporter=json',
    ],
    { env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 },
  ).then(
    (r) => r.stdout,
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  const report = JSON.parse(run.slice(run.indexOf('{'))) as {
    testResults: { name: string; status: string; message: string }[];
  };
  expect(report.testResults.map((file) => [file.name.split('/').at(-1), file.status, file.message])).toEqual([
    ['one.fixture.ts', 'passed', ''],
    ['two.fixture.ts', 'passed', ''],
  ]);
  expect(readdirSync(tmp)).toEqual([]);
}, 90_000);

it('is set up for every file of the suite', () => {
  expect(config.test?.setupFiles).toContain('tests/support/temp-dir-setup.ts');
});

it('finds a node_modules above a directory, and makes a clear one where there is none', () => {
  const parent = tempDir('troupe-temp-dirs-parent-');
  const below = join(parent, 'sub', 'deeper');
  mkdirSync(below, { recursive: true });
  const clear = join(parent, 'clear');
  mkdirSync(clear);
  expect(nodeModulesAbove(below)).toBeUndefined();
  mkdirSync(join(parent, 'sub', 'node_modules', 'typescript'), { recursive: true });
  expect(nodeModulesAbove(below)).toBe(join(parent, 'sub', 'node_modules'));
  expect(baseWithoutNodeModules([below, clear])).toBe(clear);
  expect(() => baseWithoutNodeModules([below, join(parent, 'missing')])).toThrow(
    `no temporary directory without a node_modules above it (${below} has ${join(parent, 'sub', 'node_modules')} above it)`,
  );
});
