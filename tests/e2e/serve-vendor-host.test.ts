/**
 * `troupe serve` with a vendor key, as a user runs it: the BUILT CLI on a free port, the MCP SDK's
 * Streamable HTTP client, the local server in Kimi mode. The HTTP twin of stdio-vendor-host.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { expectOversizedAnswerRefused } from '../support/oversized-answer.js';

const CLI = 'dist/src/cli/main.js';
const KEY = 'sk-e2e-serve-vendor-host-0123456789';
let kimi: OpenAIServer;
let child: ChildProcess | undefined;
const open: Client[] = [];

beforeAll(async () => {
  kimi = createOpenAIServer({ apiKey: KEY, vendor: 'kimi' });
  await kimi.start();
});
afterAll(async () => {
  await kimi.close();
});
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
  child?.kill('SIGKILL');
  child = undefined;
  kimi.reset();
});

async function serve(): Promise<{ url: URL; stderr: () => string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: kimi.baseURL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child?.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1] as string));
    });
    child?.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  return { url, stderr: () => err };
}

async function connect(url: URL, options: ConstructorParameters<typeof Client>[1] = {}): Promise<Client> {
  const client = new Client({ name: 'e2e-serve-vendor-host', version: '1' }, options);
  open.push(client);
  await client.connect(new StreamableHTTPClientTransport(url));
  return client;
}

describe('troupe serve with a vendor key (built CLI)', () => {
  it.each([
    ['2025-era', {}],
    ['2026-07-28', { versionNegotiation: { mode: { pin: '2026-07-28' } } }],
  ] as const)(
    'answers a provider answer too large for the unsent bound with an error for that call, and goes on serving (%s)',
    async (_era, options) => {
      const { url, stderr } = await serve();
      const client = await connect(url, options);
      await expectOversizedAnswerRefused(
        client,
        kimi,
        /^Expected an answer of at most 67108864 bytes waiting unsent over HTTP \(maxUnsentBytes\), got \d{8}: it was not sent; ask for a shorter one \(max_tokens\)$/,
      );
      expect(stderr()).not.toContain(KEY);
    },
    120_000,
  );
});
