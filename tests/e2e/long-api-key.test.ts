/**
 * An API key longer than any key a provider issues (a file pasted into the variable, a value doubled
 * by a script) stops the built CLI at start, exit code 2, with one line giving its length and never
 * any of the key. Until 2026-12-07 such a key was taken: redacted from every error, sent with every
 * call, and refused by the vendor after the round trip. Run `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';

function run(args: string[], env: Record<string, string>) {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  return new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json', TROUPE_LOG_LEVEL: 'debug', ...env },
        timeout: 20_000,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? (error.killed ? -1 : 1)),
          out: stdout + stderr,
        }),
    );
    child.stdin?.end();
  });
}

/** `length` characters, no 16 of them in a row found in a message by chance. */
const keyOf = (length: number) =>
  Array.from(
    { length },
    (_, i) => 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'[(i * 7919) % 57],
  ).join('');

/** Whether any 16 characters of `key` in a row are in `text`. */
function leaks(text: string, key: string): boolean {
  for (let i = 0; i + 16 <= key.length; i += 4) if (text.includes(key.slice(i, i + 16))) return true;
  return false;
}

it.each([
  ['stdio', ['stdio']],
  ['serve', ['serve', '--port', '0']],
  ['config', ['config']],
])(
  '%s refuses a 2,000-character MOONSHOT_API_KEY at start, not showing it',
  async (name, args) => {
    const key = `sk-${keyOf(1997)}`;
    const { code, out } = await run(args, { MOONSHOT_API_KEY: key });
    expect(out).toBe(
      `troupe ${name}: MOONSHOT_API_KEY: Expected an API key of at most 1,024 characters, got one of 2,000; set it to the key alone (the key is not shown)\n`,
    );
    expect(code).toBe(2);
    expect(leaks(out, key)).toBe(false);
  },
  30_000,
);

it('ask --base-url refuses a key past 16,384 characters before sending anything, not showing it', async () => {
  const key = keyOf(16_385);
  // Nothing listens on port 9: a key that got through would fail to connect instead.
  const { code, out } = await run(['ask', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', 'hello'], {
    OPENAI_API_KEY: key,
  });
  expect(out).toContain(
    'OPENAI_API_KEY: Expected an API key of at most 16,384 characters, got one of 16,385; set it to the key alone (the key is not shown)',
  );
  expect(code).toBe(2);
  expect(leaks(out, key)).toBe(false);
}, 30_000);
