/**
 * `npm test`'s first step (scripts/test-deps.mjs): what the suites need is there, installed as root
 * with apt-get, or the run stops at once with one line naming what to install.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const SCRIPT = 'scripts/test-deps.mjs';

function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [SCRIPT], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('npm test: system programs for the suites (scripts/test-deps.mjs)', () => {
  it('says nothing and passes when redis-server and /usr/bin/chromium are there', () => {
    const r = run({});
    expect(r).toEqual({ code: 0, stderr: '', stdout: '' });
  });

  it('as a non-root user, stops with one line naming the exact install command', () => {
    const r = run({ TROUPE_DEPS_PRETEND_MISSING: 'redis-server,chromium', TROUPE_DEPS_PRETEND_UID: '1000' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'npm test needs redis-server and chromium, which this machine lacks: sudo apt-get install -y redis-server chromium (or set TROUPE_CHROMIUM to a Chromium or Chrome binary)\n',
    );
  });

  it('names only what is missing', () => {
    const r = run({ TROUPE_DEPS_PRETEND_MISSING: 'chromium', TROUPE_DEPS_PRETEND_UID: '1000' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /needs chromium, .*: sudo apt-get install -y chromium \(or set TROUPE_CHROMIUM/m,
    );
  });

  it('without apt-get, says what to install in words', () => {
    // An empty PATH: no apt-get, no redis-server (node itself is started by its full path).
    const r = spawnSync(process.execPath, [SCRIPT], {
      env: { PATH: '/nonexistent', TROUPE_DEPS_PRETEND_MISSING: 'chromium', TROUPE_DEPS_PRETEND_UID: '0' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'npm test needs redis-server and chromium, which this machine lacks: install redis-server and Chromium at /usr/bin/chromium (or set TROUPE_CHROMIUM to a Chromium or Chrome binary)\n',
    );
  });

  it('as root with apt-get, updates the index, then installs non-interactively', () => {
    const r = run({
      TROUPE_DEPS_PRETEND_MISSING: 'redis-server',
      TROUPE_DEPS_PRETEND_UID: '0',
      TROUPE_DEPS_DRY_RUN: '1',
    });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'npm test needs redis-server: installing with apt-get',
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server',
    ]);
  });

  // Where apt's `chromium` is no browser (Ubuntu's snap shim), the user names one; apt cannot help then.
  it('takes the Chromium that TROUPE_CHROMIUM names, and refuses one that is not there', () => {
    expect(run({ TROUPE_CHROMIUM: process.execPath })).toEqual({ code: 0, stderr: '', stdout: '' });
    const r = run({ TROUPE_CHROMIUM: '/nonexistent/chrome', TROUPE_DEPS_PRETEND_UID: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'npm test: TROUPE_CHROMIUM is "/nonexistent/chrome", which is not an executable file; point it at a Chromium or Chrome binary, or unset it to use /usr/bin/chromium\n',
    );
  });
});
