/**
 * scripts/build.mjs without TypeScript installed (`npm ci --omit=dev` in a clone): installing
 * (the `prepare` script) goes on with a message, building on demand fails with the same message.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

function runBuild(lifecycle: string | undefined) {
  // Where no node_modules above could lend it a TypeScript (a /tmp/node_modules would).
  const dir = tempDir('troupe-build-', { noNodeModulesAbove: true });
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(process.cwd(), 'scripts', 'build.mjs'), join(dir, 'scripts', 'build.mjs'));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: '' };
  delete env.npm_lifecycle_event;
  if (lifecycle !== undefined) env.npm_lifecycle_event = lifecycle;
  return spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs')], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
}

describe('scripts/build.mjs without TypeScript', () => {
  it('lets an install finish, saying why nothing was built', () => {
    const run = runBuild('prepare');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('TypeScript is not installed');
    expect(run.stderr).toContain('without --omit=dev');
  });

  it('fails a build asked for directly, with the same message', () => {
    const run = runBuild('start');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('TypeScript is not installed');
  });
});

describe('the built CLI', () => {
  it('is executable, as the `bin` npm links (a clean build left it 0644: "Permission denied")', () => {
    const { mode } = statSync(join(process.cwd(), 'dist', 'src', 'cli', 'main.js'));
    expect(mode & 0o111).toBe(0o111);
  });
});
