/**
 * `troupe serve` and `troupe stdio` with a key load the `openai` SDK and undici after their start
 * line, in the background, with no call made (`preloadSdk`): until 2026-12-07 they loaded them
 * before they answered. With no key they load neither. The BUILT CLI (`npm run build` first); a module hook
 * (tests/fixtures/sdk-load) says on stderr when each is first imported, and troupe's log lines are
 * written synchronously, so their order on stderr is the order they happened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { CLI } from '../support/stdio-cli.js';

const HOOK = pathToFileURL(join(import.meta.dirname, '../fixtures/sdk-load/hook.mjs')).href;
const started: ChildProcess[] = [];
// Here, not in the test's `finally`: a test that times out does not run it.
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGTERM');
});

const COMMANDS = {
  serve: { args: ['serve', '--port', '0'], startLine: 'serving MCP at' },
  // Its stdin stays open (a pipe nobody writes to), as a host's does while it waits.
  stdio: { args: ['stdio'], startLine: 'serving MCP on stdio' },
} as const;
type Command = keyof typeof COMMANDS;

/** `troupe serve` on a free port, or `troupe stdio`, with `env`; its stderr so far. */
function start(command: Command, env: Record<string, string>): () => string {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, ...COMMANDS[command].args], {
    env: {
      PATH: process.env.PATH ?? '',
      TROUPE_LOG_FORMAT: 'json',
      NODE_OPTIONS: `--import ${HOOK}`,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return () => err;
}

it.each(Object.keys(COMMANDS) as Command[])(
  '%s with a key loads the SDK and undici after its start line, no call made',
  { timeout: 60_000 },
  async (command) => {
    // A closed port: nothing is called.
    const err = start(command, {
      MOONSHOT_API_KEY: 'sk-preload-0123456789abcdef',
      KIMI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    await expect.poll(err, { timeout: 40_000, interval: 50 }).toMatch(/sdk-load: undici/);
    await expect.poll(err, { timeout: 40_000, interval: 50 }).toMatch(/sdk-load: openai/);
    const text = err();
    const startLine = text.indexOf(COMMANDS[command].startLine);
    expect(startLine).toBeGreaterThan(-1);
    expect(text.indexOf('sdk-load: openai')).toBeGreaterThan(startLine);
    expect(text.indexOf('sdk-load: undici')).toBeGreaterThan(startLine);
  },
);

it.each(Object.keys(COMMANDS) as Command[])(
  '%s with no key loads neither',
  { timeout: 60_000 },
  async (command) => {
    const err = start(command, {});
    await expect.poll(err, { timeout: 40_000, interval: 50 }).toMatch(COMMANDS[command].startLine);
    // The preload would follow the start line at once; two seconds is ample on a loaded machine.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(err()).not.toMatch(/sdk-load/);
  },
);
