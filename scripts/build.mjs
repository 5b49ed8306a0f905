#!/usr/bin/env node
/**
 * `npm run build`: compiles to dist/ with tsc, incrementally (tsconfig.build.json keeps its build
 * info in dist/.tsbuildinfo). Skips tsc entirely when no source, config or folder changed since the
 * last clean build, so `npm start` and `npm test` answer at once after `npm ci` (which builds through the
 * `prepare` script). A compile that takes longer than a moment says so on stderr, with the time.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Written only after a clean compile: tsc's own build info is written even when a compile fails.
const STAMP = join(root, 'dist', '.built');
const INPUTS = ['src', 'machines', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** Newest modification time under `path`; folders count too, so a deleted file is a change. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  let latest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

function builtAt() {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return 0;
  }
}

const force = process.argv.includes('--force');
// The `bin` npm links: tsc writes it 0644, so after a clean build (`rm -rf dist`) a linked `troupe`
// failed "Permission denied" (npm sets the bit only on packages it installs). Set on every run.
const markExecutable = () => chmodSync(join(root, 'dist/src/cli/main.js'), 0o755);
if (!force && builtAt() > Math.max(...INPUTS.map((p) => newest(join(root, p))))) {
  markExecutable();
  process.exit(0);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` in a clone: the compiler is a dev dependency. Installing must not fail for
  // it; running (npm start, npm test) says what to do.
  const message =
    'troupe: TypeScript is not installed (a dev dependency), so dist/ cannot be built; run `npm ci` without --omit=dev';
  const installing = process.env.npm_lifecycle_event === 'prepare';
  process.stderr.write(`${message}${installing ? ' before running troupe from this clone' : ''}\n`);
  process.exit(installing ? 0 : 1);
}
const started = Date.now();
const tty = process.stderr.isTTY === true;
let announced = false;
const announce = () => {
  announced = true;
  process.stderr.write(
    `troupe: compiling TypeScript to dist/ (a first build takes 10-40 s)${tty ? '' : '\n'}`,
  );
};
const notice = setTimeout(announce, 1500);
const ticker = tty
  ? setInterval(() => {
      if (announced) process.stderr.write(`\rtroupe: compiling TypeScript to dist/ ... ${seconds()} s `);
    }, 1000)
  : undefined;
const seconds = () => ((Date.now() - started) / 1000).toFixed(0);

const child = spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code) => {
  clearTimeout(notice);
  if (ticker) clearInterval(ticker);
  if (code === 0) {
    mkdirSync(join(root, 'dist'), { recursive: true });
    markExecutable();
    writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  }
  if (announced) {
    process.stderr.write(
      `${tty ? '\r' : ''}troupe: ${code === 0 ? 'compiled' : 'compile failed'} in ${seconds()} s${' '.repeat(20)}\n`,
    );
  }
  process.exit(code ?? 1);
});
