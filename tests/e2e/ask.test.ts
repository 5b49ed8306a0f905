/**
 * `troupe ask` as a user runs it: the built CLI (`npm run build` first) against the local
 * OpenAI-compatible server.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { tempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const KEY = 'sk-e2e-ask-key-0123456789abcdef';
let server: OpenAIServer;

beforeAll(async () => {
  expect(existsSync(CLI), `Expected the built CLI at ${CLI}; run "npm run build" first`).toBe(true);
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function ask(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  // A clean environment: no real keys from the machine running the tests.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'ask', ...args],
      { env: { ...base, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const adHoc = () => ['--provider', 'local', '--base-url', server.baseURL];

describe('troupe ask', () => {
  it('--json prints one object with content, reasoning, toolCalls and metadata', async () => {
    server.setResponder(() => ({ content: 'Bonjour.', reasoning: 'French, then.' }));
    const run = await ask([...adHoc(), '--model', 'echo-1', '--json', 'Say hello'], { TROUPE_API_KEY: KEY });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(Object.keys(out).sort()).toEqual([
      'content',
      'finishReason',
      'metadata',
      'reasoning',
      'toolCalls',
    ]);
    expect(out.content).toBe('Bonjour.');
    expect(out.reasoning).toBe('French, then.');
    expect(out.toolCalls).toEqual([]);
    expect(out.metadata).toMatchObject({ provider: 'local', model: 'echo-1', state: 'done', attempts: 1 });
    expect(run.stdout).not.toContain(KEY);
    server.setResponder(undefined);
  });

  it('an answer a content filter stopped (finish_reason content_filter) is printed with a warning saying so', async () => {
    server.setResponder(() => ({ content: 'Half an', finishReason: 'content_filter' }));
    const run = await ask([...adHoc(), '--model', 'echo-1', 'hi'], { TROUPE_API_KEY: KEY });
    server.setResponder(undefined);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Half an\n');
    expect(run.stderr).toMatch(
      /warning: the provider's content filter stopped the answer \(finish_reason `content_filter`\); it may be incomplete/,
    );
    expect(run.stderr).toMatch(/finish=content_filter/);
  });

  it('--stream writes the text to stdout and metadata to stderr', async () => {
    const run = await ask([...adHoc(), '--model', 'echo-1', '--stream', 'streamed words here'], {
      OPENAI_API_KEY: KEY,
    });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('echo: streamed words here');
    expect(run.stderr).toMatch(/\[done\] provider=local model=echo-1 attempts=1/);
    expect((server.requests[0]!.body as { stream?: boolean }).stream).toBe(true);
  });

  it('--stream cut mid-answer: the text so far on stdout, ended with a newline; the cut and the error on stderr', async () => {
    const model = 'fault:reset-mid:after=3';
    const run = await ask([...adHoc(), '--model', model, '--stream', 'one two three four five'], {
      OPENAI_API_KEY: KEY,
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/^echo: \S.*\n$/);
    expect(run.stderr.split('\n').slice(0, 2)).toEqual([
      'troupe ask: the answer above was cut short: it is not whole',
      expect.stringMatching(/^troupe ask: NETWORK: /),
    ]);
    // With --json, the same text is the result's `partial`.
    const json = await ask([...adHoc(), '--model', model, '--stream', '--json', 'one two three four five'], {
      OPENAI_API_KEY: KEY,
    });
    const out = JSON.parse(json.stdout);
    expect([out.error.code, out.content]).toEqual(['NETWORK', null]);
    expect(out.partial).toEqual({ content: run.stdout.slice(0, -1) });
  });

  it('an unknown Kimi model goes to the vendor, whose 404 is one MODEL_NOT_FOUND line, no stack', async () => {
    const run = await ask(['--provider', 'kimi', '--model', 'fault:404', 'hi'], {
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: server.baseURL,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^troupe ask: MODEL_NOT_FOUND: kimi chat completion: HTTP 404/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(server.requests).toHaveLength(1);
  });

  it('a configured provider’s 404 names its base URL besides `troupe models`: a path without `/v1` answers 404 for a model it lists', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const config = join(tempDir('troupe-ask-'), 'providers.json');
    const root = server.baseURL.replace(/\/v1$/, '');
    await writeFile(
      config,
      JSON.stringify({
        providers: [{ name: 'local', baseURL: root, apiKeyEnv: 'LOCAL_KEY', models: [{ id: 'm1' }] }],
      }),
    );
    const run = await ask(['--provider', 'local', '--model', 'm1', '--config', config, 'hi'], {
      LOCAL_KEY: KEY,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "troupe ask: MODEL_NOT_FOUND: local chat completion: HTTP 404: No route for POST /chat/completions; run `troupe models` to list the providers and models; if it lists this one, check that the provider's base URL (KIMI_BASE_URL, GLM_BASE_URL, TROUPE_OPENAI_BASE_URL or the providers file) is the API root it answers `/chat/completions` under (often ending in `/v1`)\n",
    );
  });

  it('with strictModels an unknown Kimi model fails before any request (exit 2)', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = tempDir('troupe-ask-');
    const config = join(dir, 'providers.json');
    await writeFile(config, JSON.stringify({ kimi: { strictModels: true } }));
    const run = await ask(['--provider', 'kimi', '--model', 'no-such-model', '--config', config, 'hi'], {
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: server.baseURL,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^troupe ask: MODEL_NOT_FOUND: .*"no-such-model"/);
    expect(server.requests).toHaveLength(0);
  });

  it('a Kimi model through the preset reaches the server with the key from MOONSHOT_API_KEY', async () => {
    const run = await ask(['--provider', 'kimi', '--model', 'moonshot-v1-8k', 'hi kimi'], {
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: server.baseURL,
    });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('echo: hi kimi');
    expect(server.requests[0]?.authorized).toBe(true);
  });

  it('a missing key: one-line error naming the variables, non-zero exit', async () => {
    const run = await ask(['--provider', 'glm', 'hi']);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/NOT_CONFIGURED: .*ZHIPUAI_API_KEY/);
  });

  it('a default provider with no key: the one NOT_CONFIGURED line, not the start warning too', async () => {
    const run = await ask(['hi'], {
      ZHIPUAI_API_KEY: 'glm-id.0123456789abcdef',
      TROUPE_DEFAULT_PROVIDER: 'kimi',
    });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^troupe ask: NOT_CONFIGURED: Expected provider `kimi` to be configured \(set MOONSHOT_API_KEY/,
    );
  });

  it('--base-url without --model: exit 2, one line asking for --model (troupe models cannot list it)', async () => {
    const run = await ask([...adHoc(), 'hi'], { TROUPE_API_KEY: KEY });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'troupe ask: Expected `--model ID` with `--base-url` (an ad-hoc endpoint has no default model), got none\n',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('--timeout is the call’s run deadline: a hanging provider ends TIMED_OUT at it, exit 1', async () => {
    const started = Date.now();
    const run = await ask([...adHoc(), '--model', 'fault:hang', '--timeout', '500', 'hi'], {
      TROUPE_API_KEY: KEY,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^troupe ask: TIMED_OUT/);
    // Well before the default deadline (120 s) and the helper's own 20 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  // Until 2026-12-07 ask ran with its own 120 s and 3 attempts whatever serve's settings said.
  it('takes the configured limits: TROUPE_MAX_ATTEMPTS and TROUPE_TIMEOUT_MS from the environment', async () => {
    const once = await ask([...adHoc(), '--model', 'fault:500', '--json', 'hi'], {
      TROUPE_API_KEY: KEY,
      TROUPE_MAX_ATTEMPTS: '1',
    });
    expect(once.code).toBe(1);
    expect(JSON.parse(once.stdout).metadata.attempts).toBe(1);
    expect(server.requests).toHaveLength(1);
    const started = Date.now();
    const hung = await ask([...adHoc(), '--model', 'fault:hang', 'hi'], {
      TROUPE_API_KEY: KEY,
      TROUPE_TIMEOUT_MS: '400',
    });
    expect(hung.code).toBe(1);
    expect(hung.stderr).toMatch(/^troupe ask: TIMED_OUT/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('takes the providers file’s `runtime` section, under the environment; a bad value there or in the environment exits 2', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const config = join(tempDir('troupe-ask-'), 'providers.json');
    await writeFile(
      config,
      JSON.stringify({
        providers: [{ name: 'local', baseURL: server.baseURL, apiKeyEnv: 'LOCAL_KEY' }],
        runtime: { maxAttempts: 2, backoffBaseMs: 10, backoffMaxMs: 10 },
      }),
    );
    const args = ['--provider', 'local', '--model', 'fault:500', '--config', config, '--json', 'hi'];
    const twice = await ask(args, { LOCAL_KEY: KEY });
    expect(twice.code).toBe(1);
    expect(JSON.parse(twice.stdout).metadata.attempts).toBe(2);
    const envFirst = await ask(args, { LOCAL_KEY: KEY, TROUPE_MAX_ATTEMPTS: '4' });
    expect(JSON.parse(envFirst.stdout).metadata.attempts).toBe(4);
    const bad = await ask(args, { LOCAL_KEY: KEY, TROUPE_MAX_ATTEMPTS: 'many' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^troupe ask: Expected `TROUPE_MAX_ATTEMPTS` to be /);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  // The shell's convention for a process a signal ended: 128 + the signal's number (until
  // 2026-12-07 both exited 1, and SIGTERM ended the process without cancelling the call).
  for (const [signal, expected] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} cancels the call: the provider request is dropped and it exits ${expected} with one CANCELLED line`, async () => {
      const child = spawn(process.execPath, [CLI, 'ask', ...adHoc(), '--model', 'fault:hang', 'hi'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TROUPE_API_KEY: KEY },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await expect.poll(() => server.inFlight, { timeout: 10_000 }).toBe(1);
        child.kill(signal);
        const code = await Promise.race([
          exited,
          new Promise((r) => setTimeout(() => r('still running'), 8_000)),
        ]);
        expect(code).toBe(expected);
        expect(stderr.trim().split('\n')).toHaveLength(1);
        expect(stderr).toMatch(/^troupe ask: CANCELLED/);
        await expect.poll(() => server.inFlight, { timeout: 5_000 }).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  it('an unreachable URL: one-line NETWORK error, non-zero exit, no stack', async () => {
    const run = await ask(
      ['--provider', 'gone', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', 'hi'],
      {
        TROUPE_API_KEY: KEY,
      },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^troupe ask: NETWORK: gone chat completion: connection failed to 127\.0\.0\.1:9 \(ECONNREFUSED\)/,
    );
    // ... and what to check, for a newcomer who only sees "connection failed (ECONNREFUSED)".
    expect(run.stderr).toContain("; check that the provider's base URL (--base-url, ");
    expect(run.stderr).not.toContain(KEY);
  });

  // A request the provider refuses is the caller's to fix, as a bad flag is: exit 2, not 1.
  it('an upstream 400: one-line INVALID_REQUEST, exit 2', async () => {
    const run = await ask([...adHoc(), '--model', 'fault:400', 'hi'], { TROUPE_API_KEY: KEY });
    expect(run.stderr).toMatch(/^troupe ask: INVALID_REQUEST: /);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.code).toBe(2);
  });

  it('an upstream 401: one-line AUTH_FAILED, exit 1', async () => {
    const run = await ask([...adHoc(), '--model', 'echo-1', 'hi'], {
      TROUPE_API_KEY: 'sk-wrong-key-000000000000',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^troupe ask: AUTH_FAILED: /);
    // With --json too: the error is in the object on stdout, and the exit code still says it failed.
    const json = await ask([...adHoc(), '--model', 'echo-1', '--json', 'hi'], {
      TROUPE_API_KEY: 'sk-wrong-key-000000000000',
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ content: null, error: { code: 'AUTH_FAILED' } });
    expect(json.stdout).not.toContain('sk-wrong-key');
    // The variables --base-url reads, not `troupe config` (which did not list them until 2026-12-04).
    expect(run.stderr).toContain(
      '; check the key in TROUPE_API_KEY or OPENAI_API_KEY, the two --base-url reads',
    );
    expect(run.stderr).not.toContain('sk-wrong-key-000000000000');
  });

  it('an upstream 404 at --base-url says to check --model and the URL, not `troupe models` (which cannot list it)', async () => {
    const run = await ask([...adHoc(), '--model', 'fault:404', 'hi'], { TROUPE_API_KEY: KEY });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/^troupe ask: MODEL_NOT_FOUND: /);
    expect(run.stderr).toContain('; check --model, and that --base-url is the API root');
    expect(run.stderr).not.toContain('troupe models');
  });

  // With no key set, TROUPE_DEFAULT_MODEL was dropped unseen: sim-pro gave sim-fast, and a real
  // vendor's model id gave sim-fast without a word.
  it('with no key, honours a simulated default model and warns of one it cannot honour', async () => {
    const honoured = await ask(['--json', 'hi'], { TROUPE_DEFAULT_MODEL: 'sim-pro' });
    expect(honoured.code).toBe(0);
    expect(honoured.stderr).toBe('');
    expect(JSON.parse(honoured.stdout).metadata).toMatchObject({ provider: 'simulated', model: 'sim-pro' });
    const ignored = await ask(['--json', 'hi'], { TROUPE_DEFAULT_MODEL: 'glm-4.6' });
    expect(ignored.code).toBe(0);
    expect(ignored.stderr).toContain(
      'troupe ask: warning: TROUPE_DEFAULT_MODEL "glm-4.6" is ignored: no provider key is set',
    );
    expect(JSON.parse(ignored.stdout).metadata).toMatchObject({ provider: 'simulated', model: 'sim-fast' });
  });

  // One CLI run a test: nine in one test ran past its 30 s on a loaded machine (load 20 on 2 cores).
  it.each([
    [['--timeout', '0x3e8'], 'Expected `--timeout` to be an integer from 1 to 2147483647, got `0x3e8`'],
    [
      ['--timeout', '99999999999'],
      'Expected `--timeout` to be an integer from 1 to 2147483647, got `99999999999`',
    ],
    [['--max-tokens', '1e3'], 'Expected `--max-tokens` to be an integer from 1 to 2147483647, got `1e3`'],
    [
      ['--max-tokens', '99999999999999999999'],
      'Expected `--max-tokens` to be an integer from 1 to 2147483647, got `99999999999999999999`',
    ],
    [
      ['--temperature', '0x1'],
      "Expected `--temperature` to be a decimal number from 0 to 2 (the vendor's own range is checked next), got `0x1`",
    ],
    [
      ['--temperature', '5'],
      "Expected `--temperature` to be a decimal number from 0 to 2 (the vendor's own range is checked next), got `5`",
    ],
  ] as const)(
    'reads its numeric flags as the other commands do: %j refused, the flag named, exit 2',
    async (flags, message) => {
      const run = await ask([...flags, 'hi']);
      expect(run.stderr).toBe(`troupe ask: ${message}\n`);
      expect(run.code).toBe(2);
    },
  );

  it('takes numeric flags in range, both ends of --temperature’s', async () => {
    const ok = await ask(['--timeout', '5000', '--max-tokens', '50', '--temperature', '1.5', 'hi']);
    expect(ok.code).toBe(0);
    for (const temperature of ['0', '2'])
      expect((await ask(['--temperature', temperature, 'hi'])).code).toBe(0);
  });
});
