/**
 * A request too large (or too deeply nested) for the stdio server's guard, sent by the MCP SDK's
 * own client: the call fails at once with -32600, matched to it by id. Before, the error went out
 * with `id: null`, and the host's call (a pasted file, say) waited out its own timeout. The BUILT
 * CLI (`npm run build` first). A line over the SDK's own 10 MiB, under a larger
 * `--max-request-bytes`, made the SDK's reader close the connection: nothing was answered again,
 * the process left running (until 2026-12-07).
 */
import { spawn } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI, connectStdioCli } from '../../support/stdio-cli.js';

let client: Client;

beforeAll(async () => {
  client = await connectStdioCli('big-lines', 100);
});
afterAll(() => client.close());

it('fails a call whose line is over 4 MiB at once, by its id, and keeps serving', async () => {
  const started = performance.now();
  const error = await client
    .callTool({ name: 'chat', arguments: { prompt: 'x'.repeat(5 * 1024 * 1024) } }, { timeout: 30_000 })
    .then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
  expect(error?.code).toBe(-32600);
  expect(error?.message).toContain('line over 4194304 bytes');
  // Well inside the 30 s it would otherwise have waited.
  expect(performance.now() - started).toBeLessThan(20_000);
  const deep = JSON.parse(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`);
  const tooDeep = await client
    .callTool({ name: 'chat', arguments: { prompt: 'x', extra: deep } }, { timeout: 30_000 })
    .then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
  expect(tooDeep?.message).toContain('nested deeper than 64 levels');
  const ok = await client.callTool({
    name: 'chat',
    arguments: { prompt: 'hi', extra: { simulateLatencyMs: 0 } },
  });
  expect(ok.isError).toBeFalsy();
});

it('takes a line over the SDK reader’s 10 MiB under a larger --max-request-bytes, and keeps serving', async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'stdio', '--drain-ms', '100', '--max-request-bytes', String(16 * 1024 * 1024)],
    {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'ignore'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const send = (message: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  try {
    send({
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    send({ method: 'notifications/initialized' });
    // In its arguments: a request's other fields are held to 64 KiB (stdio-envelope.test.ts).
    send({
      id: 2,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x'.repeat(11 * 1024 * 1024) } },
    });
    send({ id: 3, method: 'ping' });
    await expect.poll(() => out.includes('"id":2') && out.includes('"id":3'), { timeout: 20_000 }).toBe(true);
    const ids = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; error?: unknown });
    // The call (its prompt is over the model's window) may answer after the ping.
    expect(ids.map((a) => [a.id, a.error]).sort(([a], [b]) => Number(a) - Number(b))).toEqual([
      [1, undefined],
      [2, undefined],
      [3, undefined],
    ]);
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);
