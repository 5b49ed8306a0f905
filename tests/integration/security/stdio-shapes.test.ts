/**
 * Over stdio, a line the SDK's reader cannot take gets its JSON-RPC error instead of silence: a
 * batch (the stdio transport reads one message per line) and a message the MCP schema refuses (a
 * numeric `method`, an object `progressToken`, an object `id`). Before, the SDK dropped each
 * with a ZodError on stderr and the client waited on that id for ever. A last line with no newline
 * before stdin ends was dropped without a word; it too is answered by its id. The BUILT CLI
 * (`npm run build` first) with raw lines, since the SDK's client cannot send them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';

interface Answer {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
}

it('answers a batch and schema-refused messages with -32600, by id when it can be read', async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'stdio', '--drain-ms', '100'], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const answers = (): Answer[] =>
    out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Answer);
  const lines = [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 5, method: 7 },
    {
      jsonrpc: '2.0',
      id: 'p',
      method: 'tools/call',
      params: { name: 'list_models', arguments: {}, _meta: { progressToken: { a: 1 } } },
    },
    [
      { jsonrpc: '2.0', id: 3, method: 'ping' },
      { jsonrpc: '2.0', id: 4, method: 'ping' },
    ],
    { jsonrpc: '2.0', id: { x: 1 }, method: 'ping' },
    { jsonrpc: '2.0', id: 6, method: 'ping' },
  ];
  child.stdin.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  try {
    await expect.poll(() => answers().some((a) => a.id === 6), { timeout: 10_000 }).toBe(true);
    const errors = answers().filter((a) => a.error !== undefined);
    expect(errors.map((a) => [a.id, a.error?.code])).toEqual([
      [5, -32600],
      ['p', -32600],
      [null, -32600],
      [null, -32600],
    ]);
    expect(errors[0]?.error?.message).toMatch(/^Invalid Request: expected a JSON-RPC request/);
    expect(errors[2]?.error?.message).toMatch(/got a batch \(a JSON array\); send its messages one per line/);
    // Refused by the guard: none reached the SDK to fail there.
    expect(err).not.toContain('ZodError');
  } finally {
    child.kill('SIGKILL');
  }
});

it('answers a last line with no newline by its id before it exits, as stdin closes', async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [CLI, 'stdio', '--drain-ms', '100'], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
  // As `printf '...' | troupe stdio` sends it: the last message without its newline, then EOF.
  child.stdin.end(
    `${JSON.stringify(initialize)}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}`,
  );
  try {
    expect(await exited).toBe(0);
    const last = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Answer;
    expect(last).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: {
        code: -32600,
        message:
          'Invalid Request: the input ended inside a line (40 bytes with no newline after them): not read; end each message with a newline',
      },
    });
  } finally {
    child.kill('SIGKILL');
  }
});
