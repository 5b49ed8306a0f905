/**
 * `troupe stdio` as Claude Code or Cursor runs it with a Kimi or GLM key: the BUILT CLI started by
 * the MCP SDK's stdio client, the vendor's key and base URL in its environment, against the local
 * server in that vendor's mode.
 */
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { CreateTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { expectOversizedAnswerRefused } from '../support/oversized-answer.js';
import { CLI } from '../support/stdio-cli.js';

const KEY = 'sk-e2e-stdio-vendor-host-0123456789';
let kimi: OpenAIServer;
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
  kimi.reset();
});

function start(
  env: Record<string, string> = {},
  args: readonly string[] = [],
): {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
} {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'stdio', ...args],
    env: { PATH: process.env.PATH ?? '', MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: kimi.baseURL, ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const client = new Client({ name: 'e2e-vendor-host', version: '1' });
  open.push(client);
  return { client, transport, stderr: () => err };
}

async function connect(): Promise<{ client: Client; stderr: () => string }> {
  const started = start();
  await started.client.connect(started.transport);
  return started;
}

describe('troupe stdio with a vendor key (built CLI)', () => {
  it('answers a provider answer too large for stdout with an error for that call, and goes on serving', async () => {
    const { client, stderr } = await connect();
    await expectOversizedAnswerRefused(
      client,
      kimi,
      /^Expected an answer of at most 67108864 characters on stdout, got \d{8}: it was not sent; ask for a shorter one \(max_tokens\)$/,
    );
    expect(stderr()).not.toContain('stopping as on a closed stdin');
    expect(stderr()).not.toContain(KEY);
  }, 90_000);

  it('refuses to start with the key pasted as the default model, saying so on stderr without the key', async () => {
    const { client, transport, stderr } = start({ TROUPE_DEFAULT_MODEL: KEY });
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
    });
    const connecting = client.connect(transport).then(
      () => 'connected',
      () => 'refused',
    );
    await closed;
    expect(await connecting).toBe('refused');
    expect(stderr()).toBe(
      "troupe stdio: TROUPE_DEFAULT_MODEL: Expected a model id, got a provider's API key (not shown): a model id is shown to every client; put the key in its variable\n",
    );
    expect(kimi.requests).toEqual([]);
  });

  it('a host that goes while a signal’s drain runs ends it: its task’s provider call is cut, the process exits', async () => {
    const { client, transport, stderr } = start({ TROUPE_LOG_FORMAT: 'json' }, ['--drain-ms', '30000']);
    await client.connect(transport);
    const hangs = (tag: string) => (r: { body?: unknown }) =>
      (r.body as { model?: string } | undefined)?.model === `fault:hang:tag=${tag}`;
    const call = client
      .callTool({ name: 'chat', arguments: { prompt: 'a call', model: 'fault:hang:tag=call' } })
      .catch(() => 'cut');
    await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'chat',
          arguments: { prompt: 'a task', model: 'fault:hang:tag=task' },
          task: { ttl: 60_000 },
        },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    const [callRequest, taskRequest] = await Promise.all([
      kimi.waitForRequest(hangs('call')),
      kimi.waitForRequest(hangs('task')),
    ]);
    // Ctrl-C in the host's terminal reaches troupe too; then the host exits, closing stdin.
    process.kill(transport.pid as number, 'SIGINT');
    await expect
      .poll(async () => {
        const status = await client.callTool({ name: 'sessions', arguments: {} });
        return (status.structuredContent as { runtime_state?: string }).runtime_state;
      })
      .toBe('draining');
    const goneAt = Date.now();
    await client.close();
    expect(Date.now() - goneAt).toBeLessThan(1500);
    expect((await kimi.waitForClose(taskRequest)) - goneAt).toBeLessThan(1500);
    expect(taskRequest.completed).toBe(false);
    expect(callRequest.completed).toBe(false);
    expect(await call).toBe('cut');
    const stop = JSON.parse(stderr().trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(stop).toMatchObject({
      why: 'SIGINT',
      finished: 0,
      cancelled: 2,
      msg: 'SIGINT: stopped; 0 session(s) finished while draining, 2 cancelled',
    });
  });
});
