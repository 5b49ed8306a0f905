/**
 * Temporary directories for tests, each removed when the test file that made it ends.
 *
 * `tempDir('troupe-config-')` makes a fresh directory under the system's temporary directory
 * (`os.tmpdir()`, which follows `TMPDIR`) and notes it; after the file's own `afterAll` hooks, the
 * setup file `temp-dir-setup.ts` (in `vitest.config.ts`, `setupFiles`) removes every directory the
 * file made, wherever it was made: at the top of the file, in a hook, or in a test; what is left
 * when the process exits (files loaded and not run) goes then.
 *
 * `{ noNodeModulesAbove: true }` is for a test that runs Node in the directory and counts on a
 * package being missing there (`tests/unit/build-script.test.ts`, `tests/e2e/pack.test.ts`): Node
 * looks for a package in `node_modules` in the directory and in every directory above it, so a
 * `/tmp/node_modules` would be found. The directory is then made under the first of `os.tmpdir()`,
 * `/tmp` and `/var/tmp` with no `node_modules` in it or above it, and it is an error, naming what
 * was found, when none is clear.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * One set for the worker process, kept on `globalThis`: each test file loads this module afresh, and
 * a directory a file made at its top is also removed when the process exits, for a run that loads
 * files without running them (`vitest list` runs no `afterAll`; until 2026-12-07 it left them).
 */
const KEY = Symbol.for('troupe.tests.tempDirs');
const made: Set<string> = madeInThisProcess();

function madeInThisProcess(): Set<string> {
  const shared = globalThis as Record<symbol, Set<string> | undefined>;
  const existing = shared[KEY];
  if (existing !== undefined) return existing;
  const set = new Set<string>();
  shared[KEY] = set;
  process.once('exit', removeTempDirs);
  return set;
}

export interface TempDirOptions {
  /** Make it where Node's package lookup, walking up from it, finds no `node_modules`. */
  readonly noNodeModulesAbove?: boolean;
}

/** A new directory named `prefix` and six random characters, removed when the test file ends. */
export function tempDir(prefix: string, options: TempDirOptions = {}): string {
  const base = options.noNodeModulesAbove === true ? baseWithoutNodeModules() : tmpdir();
  const dir = mkdtempSync(join(base, prefix));
  made.add(dir);
  return dir;
}

/** Removes every directory `tempDir` made so far (the setup file calls it as each file ends). */
export function removeTempDirs(): void {
  for (const dir of made) {
    rmSync(dir, { recursive: true, force: true });
    made.delete(dir);
  }
}

/** The nearest `node_modules` that Node's lookup from `dir` would reach, if any. */
export function nodeModulesAbove(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules');
    if (existsSync(candidate)) return candidate;
    if (dirname(at) === at) return undefined;
  }
}

/** The first of `bases` that exists with no `node_modules` in or above it (its real path too). */
export function baseWithoutNodeModules(bases: readonly string[] = [tmpdir(), '/tmp', '/var/tmp']): string {
  const found: string[] = [];
  for (const base of new Set(bases)) {
    if (!existsSync(base)) continue;
    const real = realpathSync(base);
    const above = nodeModulesAbove(base) ?? nodeModulesAbove(real);
    if (above === undefined) return real;
    found.push(`${base} has ${above} above it`);
  }
  throw new Error(
    `no temporary directory without a node_modules above it (${found.join('; ')}): Node would find ` +
      'packages there that this test needs to be missing; remove that node_modules or set TMPDIR to a ' +
      'directory with none above it',
  );
}
