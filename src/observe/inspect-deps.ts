/**
 * The packages `@statelyai/inspect` brings (`ws`, `safe-stable-stringify`), loaded from where that
 * package is installed. troupe does not depend on them itself (`@statelyai/inspect` is an optional
 * peer), and a strict layout (pnpm) puts them beside `@statelyai/inspect`, not beside troupe, where
 * a plain `import('ws')` from troupe's own files finds nothing. Throws as `require` does when
 * `@statelyai/inspect` is not installed.
 */
import { createRequire } from 'node:module';

export function broughtByInspect<T>(name: 'ws' | 'safe-stable-stringify'): T {
  const inspect = createRequire(import.meta.url).resolve('@statelyai/inspect');
  return createRequire(inspect)(name) as T;
}

/**
 * The first line of why a package did not load: `require`'s "Cannot find module ..." goes on with
 * a "Require stack:" of troupe's own file paths, which buried the advice that followed it (until
 * 2026-12-07 `troupe inspector` without `@statelyai/inspect` printed four lines, the fix last).
 */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0] as string;
}
