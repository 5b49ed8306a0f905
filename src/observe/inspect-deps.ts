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
