import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { fileWatchdog } from './tests/support/file-watchdog.js';
import { expectPoll } from './tests/support/poll-defaults.js';
import { unitFiles } from './tests/support/shared-workers.js';

const cores = availableParallelism();
const root = fileURLToPath(new URL('.', import.meta.url));
// Unit and integration files that leave nothing behind share worker processes; the rest get one
// each (see tests/support/shared-workers.ts and docs/testing.md, "How the suite runs").
const unit = unitFiles(root, 'tests/unit');
const integration = unitFiles(root, 'tests/integration');
const shared = [...unit.shared, ...integration.shared];

export default defineConfig({
  // Kills the worker of a file past TROUPE_TEST_FILE_LIMIT_S (300 s): see tests/support/file-watchdog.ts.
  plugins: [fileWatchdog()],
  test: {
    // Removes the temporary directories each file made with tests/support/temp-dir.ts, as it ends.
    setupFiles: ['tests/support/temp-dir-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // `expect.poll` without a timeout of its own waits up to 10 s, not vitest's 1 s (see the module).
    expect: { poll: expectPoll },
    pool: 'forks',
    // Vitest's own default (one fewer than the cores) runs one file at a time on a 2-core machine;
    // two at a time there halved the suite (about 290 s against 510 s, 2026-12-02). Most files
    // mostly wait (timers, child processes, Redis), so one more worker than the cores keeps them
    // busy: on the 2-core machine, a fresh clone's `npm test` took 481 s with three against 686 s
    // with two, back to back and idle (2026-12-07, both green). One core keeps one.
    maxWorkers: cores <= 1 ? 1 : cores + 1,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'shared', include: shared, isolate: false } },
      {
        extends: true,
        test: {
          name: 'own',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...shared],
        },
      },
    ],
  },
});
