/**
 * `npm run soak` starts the BUILT `troupe serve` as `SOAK_SERVE_ARGS` says, against the local test
 * server whose injected 500s and resets it mixes in. Those faults are on purpose: they must not
 * open the provider's circuit breaker, or every later call of the soak fails fast with
 * PROVIDER_UNAVAILABLE and the soak (and its drain under SIGTERM) exercises nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { SOAK_SERVE_ARGS, soakServerEnv } from '../../bench/soak.js';
import { createOpenAIServer } from '../../src/testing/index.js';

const CLI = 'dist/src/cli/main.js';
let server: ChildProcess | undefined;
let provider: ReturnType<typeof createOpenAIServer> | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  server?.kill('SIGKILL');
  await provider?.close();
  client = undefined;
  server = undefined;
  provider = undefined;
});

async function serve(env: NodeJS.ProcessEnv): Promise<URL> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  server = spawn(process.execPath, [CLI, ...SOAK_SERVE_ARGS], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise<URL>((resolve, reject) => {
    server!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1]!));
    });
    server!.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
}

type ChatResult = { structuredContent?: { ok: boolean; error?: { code: string } } };

describe('the soak server (built CLI, as npm run soak starts it)', () => {
  it('still answers after a run of injected 500s: the faults do not open a breaker', async () => {
    provider = createOpenAIServer({ apiKey: 'sk-soak-test-0123456789' });
    await provider.start();
    const url = await serve(soakServerEnv(provider.baseURL, 'sk-soak-test-0123456789'));
    client = new Client({ name: 'soak-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url));
    const chat = async (model: string) =>
      (
        (await client!.callTool({
          name: 'chat',
          arguments: { prompt: 'soak', model, timeout_ms: 10_000 },
        })) as ChatResult
      ).structuredContent;
    // Three attempts each: 9 provider failures, past the default breaker's 5 within 30 s.
    for (let i = 0; i < 3; i++) {
      const failed = await chat('fault:500');
      expect(failed?.ok).toBe(false);
      expect(failed?.error?.code).toBe('PROVIDER_UNAVAILABLE');
    }
    const answered = await chat('soak-ok');
    expect(answered?.error).toBeUndefined();
    expect(answered?.ok).toBe(true);
  });
});
