#!/usr/bin/env node
/**
 * `troupe <command>`: each command lives in its own module, loaded only when asked for.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Command {
  readonly summary: string;
  run(argv: readonly string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, () => Promise<{ command: Command }>>> = {
  serve: () => import('./serve.js'),
  stdio: () => import('./stdio.js'),
  ask: () => import('./ask.js'),
  demo: () => import('./demo.js'),
  load: () => import('./load.js'),
  chart: () => import('./chart.js'),
  models: () => import('./models.js'),
  config: () => import('./show-config.js'),
  inspector: () => import('./inspector.js'),
};

/** The words that stand for a whole command line: `troupe --version`, `troupe --help`. */
const TAKE_NOTHING: ReadonlySet<string> = new Set(['--version', '-v', 'version', '--help', '-h']);

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `troupe --version extra`, `troupe help serve extra`: refused as a command's stray argument is,
  // not ignored (until 2026-12-07 the extra words were dropped without a word).
  const takes = name === 'help' ? 1 : TAKE_NOTHING.has(name ?? '') ? 0 : undefined;
  const extra = takes === undefined ? undefined : rest[takes];
  if (extra !== undefined) {
    process.stderr.write(
      `troupe: Expected nothing after \`${[name, ...rest.slice(0, takes)].join(' ')}\`, got the argument \`${extra}\`; run "troupe help" for the commands\n`,
    );
    return 2;
  }
  // `troupe help serve` is `troupe serve --help` (it printed the general usage).
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  // Asked for, the usage goes to stdout; with no command at all it is a usage error (stderr, 2), as
  // every other one is.
  if (name === undefined) {
    process.stderr.write(await usage());
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(await usage());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    const { troupeVersion } = await import('./version.js');
    process.stdout.write(`troupe ${troupeVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(
      `troupe: Expected a command (${Object.keys(COMMANDS).join(', ')}), got ${JSON.stringify(name)}; run "troupe help" for what each does\n`,
    );
    return 2;
  }
  let command: Command;
  try {
    ({ command } = await load());
  } catch {
    process.stderr.write(`troupe: the "${name}" command is not available in this build.\n`);
    return 2;
  }
  return command.run(rest);
}

async function usage(): Promise<string> {
  const lines = ['Usage: troupe <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const summary = await load().then(
      (m) => m.command.summary,
      () => '(not available in this build)',
    );
    lines.push(`  ${name.padEnd(9)} ${summary}`);
  }
  lines.push(
    '',
    'Run "troupe <command> --help" (or "troupe help <command>") for a command\'s options; "troupe --version" for the version.',
    '',
  );
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`troupe: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
