/**
 * A host slow to read `troupe stdio`'s stdout while several large answers come at once (the BUILT
 * CLI on raw pipes, the local server in Kimi mode answering 12 MB of text, 24 M characters as a tool
 * result): two fit the 64 Mi characters that may wait unsent, the third does not. Until 2026-12-07
 * the third stopped the server as a host gone would (every call cancelled, the two answers waiting
 * never sent, exit 0 as on a closed stdin); now it goes as an error for its id, the others come
 * whole once the host reads, and the server goes on. A host that reads nothing at all is still taken
 * for gone after `--stalled-output-ms` (tests/e2e/mcp-stdio.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { CLI } from '../support/stdio-cli.js';
import { until } from '../support/until.js';

const KEY = 'sk-e2e-stdio-slow-host-0123456789';
const TEXT = 12_000_000;
let kimi: OpenAIServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  kimi = createOpenAIServer({ apiKey: KEY, vendor: 'kimi' });
  await kimi.start();
});
afterAll(async () => {
  await kimi.close();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface Answer {
  id: number;
  result?: { isError?: boolean; structuredContent?: { ok: boolean; content?: string; error?: object } };
}

it('answers one large answer too many for a host slow to read with an error for its id, sends the others whole, and goes on', async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'stdio'], {
    env: { PATH: process.env.PATH ?? '', MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: kimi.baseURL },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const send = (message: object) => child.stdin?.write(`${JSON.stringify(message)}\n`);
  // Lines read so far, parsed; the stream is paused while the host "does not read".
  const answers: Answer[] = [];
  // A line's pieces until its newline comes (joined once: a 24 MB line arrives in 64 KiB pieces).
  let pieces: string[] = [];
  const stdout = child.stdout as NodeJS.ReadableStream;
  stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    if (!text.includes('\n')) {
      pieces.push(text);
      return;
    }
    const lines = [...pieces, text].join('').split('\n');
    pieces = [lines.pop() ?? ''];
    for (const l of lines) if (l !== '') answers.push(JSON.parse(l) as Answer);
  });
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'slow-host', version: '1' },
    },
  });
  await until(
    async () => answers.length,
    (n) => n === 1,
    'initialize answered',
  );
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  stdout.pause();
  const model = `fault:oversized:bytes=${TEXT}`;
  for (const id of [2, 3, 4])
    send({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: `large ${id}`, model } },
    });
  // The three provider answers sent whole, then a while to build the tool results and write them,
  // while the host reads nothing.
  const sent = (r: (typeof kimi.requests)[number]) =>
    (r.body as { model?: string } | undefined)?.model === model && r.completed === true;
  await until(
    async () => kimi.requests.filter(sent).length,
    (n) => n === 3,
    'the three provider answers',
    60_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 4000));
  stdout.resume();
  await until(
    async () => answers.length,
    (n) => n === 4 || exited !== undefined,
    'the three answers',
    60_000,
  );
  expect(exited).toBeUndefined();
  expect(stderr).not.toContain('stopping as on a closed stdin');
  const calls = answers.slice(1).sort((a, b) => a.id - b.id);
  expect(calls.map((a) => a.id)).toEqual([2, 3, 4]);
  const whole = calls.filter((a) => a.result?.structuredContent?.ok === true);
  const refused = calls.filter((a) => a.result?.isError === true);
  expect(whole.length).toBe(2);
  for (const a of whole) expect(a.result?.structuredContent?.content?.length).toBe(TEXT);
  expect(refused.map((a) => a.result?.structuredContent?.error)).toMatchObject([
    {
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(
        /^Expected an answer to fit the 67108864 characters that may wait unsent on stdout beside the answers waiting for the host, got \d{8}: it was not sent; ask again once they are read, or for a shorter one \(max_tokens\)$/,
      ),
    },
  ]);
  // It goes on: a later call is answered.
  send({
    jsonrpc: '2.0',
    id: 5,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'after' } },
  });
  await until(
    async () => answers.length,
    (n) => n === 5,
    'the call after',
  );
  expect(answers[4]).toMatchObject({
    id: 5,
    result: { structuredContent: { ok: true, content: 'echo: after' } },
  });
  expect(stderr).not.toContain(KEY);
}, 120_000);
