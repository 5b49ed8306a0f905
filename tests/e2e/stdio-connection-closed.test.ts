/**
 * `troupe stdio` whose MCP connection closes on its own, not on stdin's end, stdout's failure or a
 * signal: the SDK's transport closing on an error of its own, or the MCP server closed by code. The
 * BUILT CLI in a child process, the close made by a preload (`tests/support/stdio-close-on-signal.mjs`)
 * on SIGUSR2: no message a client sends reaches either path. Until 2026-12-07 the process stayed up
 * answering nothing, its calls running on at the provider, the host's pipes held open.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CLI } from '../support/stdio-cli.js';

const PRELOAD = new URL('../support/stdio-close-on-signal.mjs', import.meta.url).href;

/** The built CLI's `troupe stdio` (JSON logs), driven by raw JSON-RPC lines. */
function spawnStdio(nodeArgs: readonly string[], env: Record<string, string> = {}) {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'stdio', '--drain-ms', '5000'], {
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json', ...env },
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  /** The stop line: the last line on stderr. */
  const last = () => JSON.parse(err.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  return { child, send, out: () => out, last, exited };
}

async function closingStdio(how: 'error' | 'server') {
  const { child, send, out, last, exited } = spawnStdio(['--import', PRELOAD], { TROUPE_TEST_CLOSE: how });
  send({
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  send({ method: 'notifications/initialized' });
  send({
    id: 2,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'never', extra: { simulateLatencyMs: 60_000 } } },
  });
  // Answered after the call was taken: its session is running.
  send({ id: 3, method: 'ping' });
  await expect.poll(out, { timeout: 20_000 }).toContain('"id":3');
  const started = performance.now();
  child.kill('SIGUSR2');
  // Within 10 s, or not at all: it stayed up for good.
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
  const elapsed = performance.now() - started;
  child.stdin.destroy();
  if (code === 'still running') child.kill('SIGKILL');
  return { code, elapsed, last: last(), out: out() };
}

it('stops with 1 when the stdio transport closes on an error, its calls cancelled, saying why', async () => {
  const { code, elapsed, last, out } = await closingStdio('error');
  expect(code).toBe(1);
  expect(elapsed).toBeLessThan(5000);
  expect(last).toMatchObject({
    level: 'error',
    msg: 'connection closed on an error (Read buffer exceeded its maximum size): stopped; 0 session(s) finished while draining, 1 cancelled',
    cancelled: 1,
    ended: { cancelled: 1 },
  });
  // The call got no answer: nothing can go out once the connection is closed.
  expect(out).not.toContain('"id":2');
}, 40_000);

it('stops with 0 when the MCP server is closed, its calls cancelled, saying so', async () => {
  const { code, elapsed, last } = await closingStdio('server');
  expect(code).toBe(0);
  expect(elapsed).toBeLessThan(5000);
  expect(last).toMatchObject({
    level: 'info',
    msg: 'connection closed: stopped; 0 session(s) finished while draining, 1 cancelled',
    cancelled: 1,
  });
}, 40_000);

// A client that asks `server/discover` (2026-07-28) and then opens a 2025 session: the SDK closes the
// probe server it built for the first, and the connection goes on with another.
it('goes on when the SDK replaces its probe server, and counts no client’s cancel in the stop line', async () => {
  const { child, send, out, last, exited } = spawnStdio([]);
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  send({ id: 1, method: 'server/discover', params: { _meta: meta } });
  await expect.poll(out, { timeout: 20_000 }).toContain('"id":1');
  send({
    id: 2,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  send({ method: 'notifications/initialized' });
  await expect.poll(out, { timeout: 20_000 }).toContain('"id":2');
  // Past the second in which a server's close is heard for a connection's close.
  await new Promise((r) => setTimeout(r, 1500));
  send({
    id: 3,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'never', extra: { simulateLatencyMs: 60_000 } } },
  });
  send({ id: 4, method: 'ping' });
  await expect.poll(out, { timeout: 20_000 }).toContain('"id":4');
  // The client cancels its call: not one the going cut.
  send({ method: 'notifications/cancelled', params: { requestId: 3, reason: 'changed my mind' } });
  send({ id: 5, method: 'ping' });
  await expect.poll(out, { timeout: 20_000 }).toContain('"id":5');
  await new Promise((r) => setTimeout(r, 300));
  child.stdin.end();
  expect(await exited).toBe(0);
  expect(last()).toMatchObject({
    level: 'info',
    msg: 'stdin closed: stopped; 0 session(s) finished while draining, 0 cancelled',
  });
}, 60_000);
