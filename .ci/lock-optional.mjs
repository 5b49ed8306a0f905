#!/usr/bin/env node
/**
 * Restores the platform-specific optional packages that npm leaves out of package-lock.json
 * (npm/cli#4828, #8320), which `npm ci` then reports as "Missing ... from lock file". npm omits
 * them when the registry it used cannot serve them (this workplace's mirror has only Linux builds).
 * Each entry is written from its name (`…-darwin-arm64`, `…-linux-x64-musl`): version from the
 * parent, `os`/`cpu`/`libc` from the name, so `npm ci` skips it on other platforms and fetches it by
 * version where it matches. Run after any `npm install` that rewrites the lock:
 *   node .ci/lock-optional.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'sunos', 'win32'];
const CPU = ['arm64', 'arm', 'ia32', 'x64', 'ppc64', 's390x', 'riscv64', 'loong64'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  if (os === undefined || cpu === undefined) return undefined;
  const platform = { cpu: [cpu], os: [os] };
  if (os === 'linux') platform.libc = [parts.includes('musl') ? 'musl' : 'glibc'];
  return platform;
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
const added = [];
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`;
    if (packages[at] !== undefined || packages[`${key}/${at}`] !== undefined) continue;
    const platform = platformOf(name);
    if (platform === undefined) continue; // not a platform build: leave npm's decision alone
    packages[at] = { version, ...platform, ...(entry.dev === true ? { dev: true } : {}), optional: true };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`lock-optional: added ${added.length}${added.length ? `: ${added.join(', ')}` : ''}\n`);
