/**
 * Which unit and integration test files may share a worker process (`isolate: false` in
 * `vitest.config.ts`).
 *
 * A fresh process per file costs a Node start and a fresh import of everything the file reaches
 * (`src/index.ts` alone takes 1 to 3 s on a loaded 2-core machine): for the 234 unit files that is
 * most of their time, and for the 98 integration files more than half of their CPU. Sharing a worker keeps module state from one file to the next, so a file
 * keeps its own process when it, or a helper it imports from tests/, does anything that outlives
 * it in the module cache or the process: mocks a module (`vi.mock`, `vi.doMock`, `vi.hoisted`,
 * `vi.resetModules`), spies on or stubs a shared object (`vi.spyOn`, `vi.stubGlobal`,
 * `vi.stubEnv`), fakes the timers, or writes `process.env`, adds a `process` listener or changes
 * the working directory. The check reads the source, so a new file that does any of these is
 * isolated without anyone listing it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const OUTLIVES_THE_FILE =
  /\bvi\.(mock|doMock|unmock|doUnmock|hoisted|resetModules|spyOn|stubGlobal|stubEnv|useFakeTimers)\b|process\.env(\.\w+|\[[^\]]+\])\s*=[^=]|delete\s+process\.env|process\.(chdir|on|once|addListener|prependListener)\(/;
const RELATIVE_IMPORT = /\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** True when `file` or a helper it imports from `testsDir` (at any depth) matches OUTLIVES_THE_FILE. */
export function needsOwnProcess(file: string, testsDir: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return false; // not a file of ours (a folder's index, a JSON file read by other means)
  }
  if (OUTLIVES_THE_FILE.test(source)) return true;
  for (const match of source.matchAll(RELATIVE_IMPORT)) {
    const target = resolve(dirname(file), (match[1] ?? match[2] ?? '').replace(/\.js$/, '.ts'));
    if (!relative(testsDir, target).startsWith('..') && needsOwnProcess(target, testsDir, seen)) return true;
  }
  return false;
}

/** The `*.test.ts` files under `dir`, relative to `root`, each with whether it may share a worker. */
export function unitFiles(root: string, dir: string): { shared: string[]; own: string[] } {
  const testsDir = join(root, 'tests');
  const shared: string[] = [];
  const own: string[] = [];
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    (needsOwnProcess(path, testsDir) ? own : shared).push(relative(root, path));
  }
  return { shared: shared.sort(), own: own.sort() };
}
