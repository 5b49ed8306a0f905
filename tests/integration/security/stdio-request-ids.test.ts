/**
 * A stdio client that sends a request with the id of one still in flight: the BUILT CLI (`npm run
 * build` first) with raw lines (the SDK's client never reuses an id), its model calls going to the
 * local server. Until 2026-12-07 the second call ran too, and the SDK's one abort controller per id
 * became the second's: a `notifications/cancelled` for that id stopped only the second, and the
 * first's provider call ran on, paid for, until its deadline or the host's going.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { CLI } from '../../support/stdio-cli.js';

const KEY = 'sk-stdio-request-ids-0123456789';
let provider: OpenAIServer;

beforeAll(async () => {
  provider = createOpenAIServer({ apiKey: KEY });
  await provider.start();
});
afterAll(() => provider.close());

interface Answer {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
}

it('refuses a request reusing an id in flight, the first call still cancellable by it', async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'stdio', '--drain-ms', '100'], {
    env: {
      PATH: process.env.PATH ?? '',
      TROUPE_OPENAI_BASE_URL: provider.baseURL,
      TROUPE_OPENAI_API_KEY: KEY,
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const answers = (): Answer[] =>
    out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Answer);
  const send = (message: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  const hangingCall = (id: number) => ({
    id,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hi', model: 'fault:hang' } },
  });
  try {
    send({
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    send({ method: 'notifications/initialized' });
    send(hangingCall(1));
    const first = await provider.waitForRequest((r) => r.path.endsWith('/chat/completions'));
    send(hangingCall(1));
    send({ id: 2, method: 'ping' });
    await expect.poll(() => answers().some((a) => a.id === 2), { timeout: 20_000 }).toBe(true);
    expect(answers().filter((a) => a.id !== 0 && a.id !== 2)).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message:
            'Invalid Request: id 1 is taken by a request still in flight, so this one was not run; give each request an id of its own',
        },
      },
    ]);
    // Cancelling id 1 reaches the call that holds it, and its provider call is cut.
    send({ method: 'notifications/cancelled', params: { requestId: 1, reason: 'test' } });
    await provider.waitForClose(first);
    expect(first.completed).toBe(false);
    // Then the id is free again.
    send(hangingCall(1));
    const again = await provider.waitForRequest(
      (r) => r.id !== first.id && r.path.endsWith('/chat/completions'),
    );
    expect(provider.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(2);
    child.stdin.end();
    expect(await exited).toBe(0);
    await provider.waitForClose(again);
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);
