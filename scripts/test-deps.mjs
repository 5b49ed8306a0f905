#!/usr/bin/env node
/**
 * Run by `npm test` (its `pretest` script) before anything else: makes sure the system programs the
 * suites need are there. The Redis backend's tests start a real `redis-server`; the dashboard test
 * drives Debian's `/usr/bin/chromium`, or the Chromium or Chrome binary TROUPE_CHROMIUM names (where
 * apt's `chromium` is no browser, e.g. Ubuntu's snap shim). As root with apt-get, installs what is
 * missing (non-interactive); otherwise stops at once with one line saying exactly what to install.
 *
 * Overrides, for the tests of this script: TROUPE_DEPS_PRETEND_MISSING (comma-separated names to
 * treat as missing), TROUPE_DEPS_PRETEND_UID (the user id to act as), TROUPE_DEPS_DRY_RUN=1 (print
 * the install commands instead of running them).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const env = process.env;
const chosenChromium = env.TROUPE_CHROMIUM?.trim() || undefined;

/** What the suites need: how to find it, and the Debian package that provides it. */
const NEEDS = [
  { name: 'redis-server', pkg: 'redis-server', found: () => onPath('redis-server') },
  { name: 'chromium', pkg: 'chromium', found: () => executable(chosenChromium ?? '/usr/bin/chromium') },
];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(program) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && executable(join(dir, program)));
}

const pretendMissing = new Set((env.TROUPE_DEPS_PRETEND_MISSING ?? '').split(',').filter(Boolean));
const missing = NEEDS.filter((n) => pretendMissing.has(n.name) || !n.found());
if (missing.length === 0) process.exit(0);
if (chosenChromium !== undefined && missing.some((n) => n.name === 'chromium')) {
  // apt-get cannot help: the user chose the binary.
  process.stderr.write(
    `npm test: TROUPE_CHROMIUM is ${JSON.stringify(chosenChromium)}, which is not an executable file; point it at a Chromium or Chrome binary, or unset it to use /usr/bin/chromium\n`,
  );
  process.exit(1);
}

const pkgs = missing.map((n) => n.pkg);
const uid =
  env.TROUPE_DEPS_PRETEND_UID === undefined ? process.getuid?.() : Number(env.TROUPE_DEPS_PRETEND_UID);
const hasApt = onPath('apt-get');
const instruction = hasApt
  ? `sudo apt-get install -y ${pkgs.join(' ')}`
  : `install ${missing.map((n) => (n.name === 'chromium' ? 'Chromium at /usr/bin/chromium' : n.name)).join(' and ')}`;

const otherChromium = pkgs.includes('chromium')
  ? ' (or set TROUPE_CHROMIUM to a Chromium or Chrome binary)'
  : '';

if (uid !== 0 || !hasApt) {
  process.stderr.write(
    `npm test needs ${pkgs.join(' and ')}, which this machine lacks: ${instruction}${otherChromium}\n`,
  );
  process.exit(1);
}

const dryRun = env.TROUPE_DEPS_DRY_RUN === '1';
process.stderr.write(`npm test needs ${pkgs.join(' and ')}: installing with apt-get\n`);
const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', '--no-install-recommends', ...pkgs],
]) {
  if (dryRun) {
    process.stderr.write(`apt-get ${args.join(' ')}\n`);
    continue;
  }
  const run = spawnSync('apt-get', args, { env: aptEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) {
    process.stderr.write(
      `apt-get ${args[0]} failed (exit ${run.status}); install by hand: ${instruction}${otherChromium}\n`,
    );
    process.exit(1);
  }
}
if (!dryRun) {
  const still = missing.filter((n) => !n.found());
  if (still.length > 0) {
    process.stderr.write(`after apt-get, still missing: ${still.map((n) => n.name).join(', ')}\n`);
    process.exit(1);
  }
}
