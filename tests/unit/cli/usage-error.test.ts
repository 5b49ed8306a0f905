/**
 * A mistyped command line gets troupe's "Expected X, got Y" and where the options are, not Node's
 * parseArgs text ("Unknown option '--bogus'. To specify a positional argument starting with a
 * '-', ...", "Option '--sessions' argument is ambiguous."), in every command.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command as demo } from '../../../src/cli/demo.js';
import { command as load } from '../../../src/cli/load.js';
import { main } from '../../../src/cli/main.js';
import { command as models } from '../../../src/cli/models.js';
import { command as serve } from '../../../src/cli/serve.js';
import { command as stdio } from '../../../src/cli/stdio.js';
import { usageMessage } from '../../../src/cli/usage-error.js';

afterEach(() => vi.restoreAllMocks());

function refusal(argv: string[], options: ParseArgsConfig['options'], positionals = false) {
  try {
    parseArgs({ args: argv, options, allowPositionals: positionals });
  } catch (error) {
    return usageMessage('demo', error);
  }
  throw new Error(`Expected parseArgs to refuse ${argv.join(' ')}, got it accepted`);
}

async function stderrOf(run: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await run();
  return { code, stderr };
}

describe('usageMessage', () => {
  const help = 'run "troupe demo --help" for its options';
  it('names an unknown option, with or without positionals allowed', () => {
    expect(refusal(['--bogus'], { sessions: { type: 'string' } })).toBe(
      `Expected an option of \`troupe demo\`, got \`--bogus\`; ${help}`,
    );
    expect(refusal(['--bogus'], { sessions: { type: 'string' } }, true)).toBe(
      `Expected an option of \`troupe demo\`, got \`--bogus\`; ${help}`,
    );
    expect(refusal(['-x'], { sessions: { type: 'string' } })).toBe(
      `Expected an option of \`troupe demo\`, got \`-x\`; ${help}`,
    );
  });

  it('says a value is missing, or looks like an option', () => {
    expect(refusal(['--sessions'], { sessions: { type: 'string' } })).toBe(
      `Expected a value after \`--sessions\`, got none; ${help}`,
    );
    expect(refusal(['--sessions', '-1'], { sessions: { type: 'string' } })).toBe(
      `Expected a value after \`--sessions\`, got another option (a value that starts with "-" is written \`--sessions=<value>\`); ${help}`,
    );
  });

  it('says a switch takes no value, and the command no arguments', () => {
    expect(refusal(['--plain=yes'], { plain: { type: 'boolean' } })).toBe(
      `Expected \`--plain\` alone (it takes no value), got \`--plain=...\`; ${help}`,
    );
    expect(refusal(['extra'], { plain: { type: 'boolean' } })).toBe(
      `Expected only options, got the argument \`extra\`; ${help}`,
    );
  });

  it('under `npm start`, says where troupe’s options go (npm took `--port` and left its value)', () => {
    let error: unknown;
    try {
      parseArgs({ args: ['7802'], options: { port: { type: 'string' } } });
    } catch (caught) {
      error = caught;
    }
    expect(usageMessage('serve', error, { npm_lifecycle_event: 'start' })).toBe(
      `Expected only options, got the argument \`7802\`; through npm, troupe's options go after \`--\`: \`npm start -- --port 7802\`; run "troupe serve --help" for its options`,
    );
    expect(usageMessage('serve', error, { npm_lifecycle_event: 'test' })).toBe(
      'Expected only options, got the argument `7802`; run "troupe serve --help" for its options',
    );
  });

  it('names an option with a short alias by its long name (Node names it "-f, --format")', () => {
    const format = { format: { type: 'string', short: 'f' } } as const;
    expect(refusal(['--format'], format)).toBe(`Expected a value after \`--format\`, got none; ${help}`);
    expect(refusal(['-f'], format)).toBe(`Expected a value after \`--format\`, got none; ${help}`);
    expect(refusal(['--help=1'], { help: { type: 'boolean', short: 'h' } })).toBe(
      `Expected \`--help\` alone (it takes no value), got \`--help=...\`; ${help}`,
    );
  });

  it('keeps any other error as it is', () => {
    expect(usageMessage('demo', new Error('Expected `--port` to be an integer'))).toBe(
      'Expected `--port` to be an integer',
    );
  });
});

describe('the commands say it in one line', () => {
  it('demo and load refuse a stray argument instead of running without it', async () => {
    for (const [name, run] of [
      ['demo', () => demo.run(['--sessions', '1', 'fast'])],
      ['load', () => load.run(['--url', 'http://127.0.0.1:9/mcp', 'fast'])],
    ] as const) {
      const { code, stderr } = await stderrOf(run);
      expect(code).toBe(2);
      expect(stderr).toBe(
        `troupe ${name}: Expected only options, got the argument \`fast\`; run "troupe ${name} --help" for its options\n`,
      );
    }
  });

  it('demo’s integer options name their range and a value they take, not `=-1`', async () => {
    for (const [argv, expected] of [
      [
        ['--sessions', '-5'],
        'Expected an integer from 1 to 1000000 after `--sessions`, got another option or a value starting with "-" (e.g. `--sessions 200`)',
      ],
      [
        ['--rate', '-1'],
        'Expected an integer from 0 to 1000000 after `--rate`, got another option or a value starting with "-" (e.g. `--rate 0`)',
      ],
    ] as const) {
      const { code, stderr } = await stderrOf(() => demo.run([...argv]));
      expect(code).toBe(2);
      expect(stderr).toBe(`troupe demo: ${expected}; run "troupe demo --help" for its options\n`);
    }
  });

  it('serve, stdio, models and demo', async () => {
    for (const [name, run] of [
      ['serve', () => serve.run(['--bogus'])],
      ['stdio', () => stdio.run(['--bogus'])],
      ['models', () => models.run(['--bogus'])],
      ['demo', () => demo.run(['--bogus'])],
    ] as const) {
      const { code, stderr } = await stderrOf(run);
      expect(code).toBe(2);
      expect(stderr).toBe(
        `troupe ${name}: Expected an option of \`troupe ${name}\`, got \`--bogus\`; run "troupe ${name} --help" for its options\n`,
      );
    }
  });

  it('chart, whose --format has a short alias', async () => {
    const { code, stderr } = await stderrOf(() => main(['chart', 'session', '--format']));
    expect(code).toBe(2);
    expect(stderr).toBe(
      'troupe chart: Expected a value after `--format`, got none; run "troupe chart --help" for its options\n',
    );
  });

  it('no command at all is a usage error too: the usage on stderr, exit 2', async () => {
    const { code, stderr } = await stderrOf(() => main([]));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Usage: troupe <command>/);
  });

  it('an unknown command lists the commands', async () => {
    const { code, stderr } = await stderrOf(() => main(['show-config']));
    expect(code).toBe(2);
    expect(stderr).toBe(
      'troupe: Expected a command (serve, stdio, ask, demo, load, chart, models, config, inspector), got "show-config"; run "troupe help" for what each does\n',
    );
  });

  it('`--version`, `--help` and `help <command>` refuse an argument after them rather than drop it', async () => {
    for (const [argv, said] of [
      [['--version', 'extra'], '--version'],
      [['-v', 'extra'], '-v'],
      [['version', 'extra'], 'version'],
      [['--help', 'extra'], '--help'],
      [['help', 'serve', 'extra'], 'help serve'],
    ] as const) {
      const { code, stderr } = await stderrOf(() => main([...argv]));
      expect(code).toBe(2);
      expect(stderr).toBe(
        `troupe: Expected nothing after \`${said}\`, got the argument \`extra\`; run "troupe help" for the commands\n`,
      );
    }
    // Alone, each still does its work.
    expect((await stderrOf(() => main(['--version']))).code).toBe(0);
  });

  it('`help <command>` prints that command’s options; an unknown one is refused as a command', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    expect(await main(['help', 'serve'])).toBe(0);
    expect(stdout).toMatch(/^Usage: troupe serve \[--port N\]/);
    vi.restoreAllMocks();
    const { code, stderr } = await stderrOf(() => main(['help', 'sever']));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^troupe: Expected a command \(serve, .*got "sever"/);
  });
});
