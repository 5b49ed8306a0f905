/**
 * A request whose bytes are not UTF-8 (a host writing Latin-1, a cut multi-byte character) is a
 * parse error (-32700, `id: null`: nothing of it is read), on both transports, and the server goes
 * on serving. Until 2026-12-07 each bad byte was read as U+FFFD and the request went on altered: a
 * Latin-1 `café` in a prompt reached the model as `caf�`. Stdio runs the BUILT CLI
 * (`npm run build` first) with raw bytes on its stdin, since the SDK's client cannot send them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI } from '../../support/stdio-cli.js';
import { type Harness, startHarness } from '../mcp/harness.js';

interface Answer {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
}

/** A JSON-RPC line with `prompt` spliced in as raw bytes. */
function withPrompt(head: string, prompt: Buffer, tail: string): Buffer {
  return Buffer.concat([Buffer.from(head), prompt, Buffer.from(tail)]);
}
const LATIN1_CAFE = Buffer.from('caf\xe9', 'latin1');

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

it('refuses an HTTP body that is not UTF-8 with 400 / -32700, and takes the same body in UTF-8', async () => {
  const body = (name: Buffer) =>
    withPrompt(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"version":"1","name":"',
      name,
      '"}}}',
    );
  const post = (bytes: Buffer) =>
    fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: new Uint8Array(bytes),
    });
  const bad = await post(body(LATIN1_CAFE));
  expect(bad.status).toBe(400);
  const answer = (await bad.json()) as Answer;
  expect(answer.id).toBeNull();
  expect(answer.error).toEqual({ code: -32700, message: 'Parse error: the body is not valid UTF-8' });
  const good = await post(body(Buffer.from('café')));
  expect(good.status).toBe(200);
  await good.body?.cancel();
});

it('answers a stdio line that is not UTF-8 with -32700 and no id, and keeps serving', async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'stdio', '--drain-ms', '100'], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const answers = (): Answer[] =>
    out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Answer);
  const send = (line: Buffer | object) =>
    child.stdin.write(
      Buffer.isBuffer(line) ? Buffer.concat([line, Buffer.from('\n')]) : `${JSON.stringify(line)}\n`,
    );
  try {
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const call = (id: number, prompt: Buffer) =>
      withPrompt(
        `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"chat","arguments":{"prompt":"`,
        prompt,
        '","extra":{"simulateLatencyMs":0}}}}',
      );
    send(call(2, LATIN1_CAFE));
    // A multi-byte character cut short, in the middle of an otherwise good line.
    send(call(3, Buffer.from([0x63, 0xe2, 0x82, 0x20])));
    send(call(4, Buffer.from('café')));
    await expect.poll(() => answers().some((a) => a.id === 4), { timeout: 30_000 }).toBe(true);
    const all = answers();
    expect(all.filter((a) => a.id === null)).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error: the line is not valid UTF-8' },
      },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error: the line is not valid UTF-8' },
      },
    ]);
    // Neither altered request ran.
    expect(all.some((a) => a.id === 2 || a.id === 3)).toBe(false);
    expect(all.find((a) => a.id === 4)?.error).toBeUndefined();
    expect(child.exitCode).toBeNull();
  } finally {
    child.kill();
  }
});
