/**
 * A watchdog for `npm test`: a test file that runs longer than a hard limit has its worker killed,
 * with a line naming the file, and the run goes on without it (the file fails).
 *
 * Vitest's own timeouts are timers inside the worker: a synchronous loop that never yields (such as
 * the cluster queue room's search that once spun in `tests/scale/properties.test.ts`) never lets
 * them fire, and the run then hangs until something outside kills it. This plugin watches from the
 * main process instead. Each worker notes its process id under the file it runs (a `beforeAll` of
 * the setup file `file-watchdog-setup.ts`, in a directory the main process hands it through
 * `provide`); the reporter checks every few seconds for a file queued longer than the limit and
 * sends that worker SIGKILL.
 *
 * The limit: `TROUPE_TEST_FILE_LIMIT_S` seconds (default 300, five times the slowest file of the
 * suite on a 2-core machine; 0 turns the watchdog off).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vitest/config';
import type { Reporter, TestModule } from 'vitest/node';

const DEFAULT_LIMIT_S = 300;
const CHECK_EVERY_MS = 2_000;
const WATCHDOG = Symbol.for('troupe:file-watchdog');

declare module 'vitest' {
  export interface ProvidedContext {
    troupeWatchdogDir: string;
  }
}

/** The limit in ms from `TROUPE_TEST_FILE_LIMIT_S`; 0 when off. A value that is not a number is refused. */
export function watchdogLimitMs(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_LIMIT_S * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(`TROUPE_TEST_FILE_LIMIT_S must be a number of seconds (0 turns it off), got "${raw}"`);
  return seconds * 1000;
}

export function fileWatchdog(): Plugin {
  const limitMs = watchdogLimitMs(process.env.TROUPE_TEST_FILE_LIMIT_S);
  const setupFile = fileURLToPath(new URL('./file-watchdog-setup.ts', import.meta.url));
  return {
    name: 'troupe:file-watchdog',
    config: () => (limitMs === 0 ? {} : { test: { setupFiles: [setupFile] } }),
    // Called once for each project (vitest.config.ts has two): each is told the directory, and the
    // reporter and the exit hook are added once.
    configureVitest({ vitest, project }) {
      if (limitMs === 0) return;
      const dir = join(tmpdir(), `troupe-vitest-watchdog-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      project.provide('troupeWatchdogDir', dir);
      // vitest loads this config again for each project: a symbol of the global registry marks the reporter.
      if (vitest.config.reporters.some((r) => typeof r === 'object' && r !== null && WATCHDOG in r)) return;
      vitest.config.reporters.push(watchdogReporter(dir, limitMs));
      // An interrupted run (Ctrl-C) ends no run: its workers, a spinning one too, go with it.
      process.once('exit', () => {
        for (const pid of workersRunning(dir)) for (const child of [...descendantsOf(pid), pid]) kill(child);
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

function watchdogReporter(dir: string, limitMs: number): Reporter {
  const started = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const now = performance.now();
    for (const [file, at] of started) {
      if (now - at < limitMs) continue;
      started.delete(file);
      const pids = workersRunning(dir, file);
      // Its children first (a redis-server, `troupe serve` instances): with the worker gone they
      // would be left to run on, as they were until 2026-12-08 (40 minutes in one run).
      for (const pid of pids) for (const child of [...descendantsOf(pid), pid]) kill(child);
      console.error(
        `\n[watchdog] ${file} ran for ${Math.round((now - at) / 1000)} s, past the ${limitMs / 1000} s limit ` +
          `(TROUPE_TEST_FILE_LIMIT_S): ${pids.length > 0 ? `killed its worker (pid ${pids.join(', ')})` : 'its worker was not found'}. ` +
          'A synchronous loop that never yields stops vitest’s own timeouts; the file fails.\n',
      );
    }
  };
  const reporter: Reporter & { [WATCHDOG]: true } = {
    [WATCHDOG]: true,
    onTestRunStart() {
      // Again on each run of `vitest watch`: the end of the last one took the directory away.
      mkdirSync(dir, { recursive: true });
      timer ??= setInterval(check, Math.min(CHECK_EVERY_MS, limitMs)).unref();
    },
    onTestModuleQueued(module: TestModule) {
      started.set(module.moduleId, performance.now());
    },
    onTestModuleEnd(module: TestModule) {
      started.delete(module.moduleId);
    },
    onTestRunEnd() {
      clearInterval(timer);
      timer = undefined;
      started.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return reporter;
}

/** The workers whose latest file is `file` (any file when none is given): each writes its pid's entry as it starts a file. */
function workersRunning(dir: string, file?: string): number[] {
  const pids: number[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return pids; // gone already
  }
  for (const name of names) {
    try {
      if (file === undefined || readFileSync(join(dir, name), 'utf8') === file) pids.push(Number(name));
    } catch {
      // The worker replaced its entry as we read it: it has moved on to another file.
    }
  }
  return pids;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The processes below `pid`, read from Linux's `/proc` (elsewhere none: only the worker is killed). */
function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const name of entries) {
    try {
      // pid (comm) state ppid ...: the command may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      // It ended as we read.
    }
  }
  const found: number[] = [];
  const below = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid !== parent) continue;
      found.push(child);
      below(child);
    }
  };
  below(pid);
  return found;
}
