/**
 * `troupe serve --inspect-url` when the inspector goes away and comes back: one warning in the log
 * when the connection is lost, one line when it opens again, none for each failed attempt between
 * (until 2026-12-07 neither was told); and at its stop, one warning with the events it still held
 * (until 2026-12-07 dropped untold and uncounted). The BUILT CLI (`npm run build` first).
 */
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startServeCli } from '../support/serve-cli.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function listen(port = 0) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    });
  cleanup.push(close);
  return { wss, port: (wss.address() as AddressInfo).port, close };
}

/** The JSON log lines of `stderr` whose message starts with `start`. */
function logged(stderr: string, start: string): { level: string; msg: string }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((line) => line.msg.startsWith(start));
}

it('logs the inspector lost once as a warning and connected again once, not each attempt between', async () => {
  const first = await listen();
  const url = `ws://127.0.0.1:${first.port}/`;
  let stderr = '';
  const { child } = await startServeCli({ TROUPE_LOG_FORMAT: 'json' }, ['--inspect-url', url]);
  cleanup.push(() => (child as ChildProcess).kill('SIGKILL'));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const waitFor = async (check: () => boolean, what: string) => {
    for (let i = 0; i < 600 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(check(), what).toBe(true);
  };
  await waitFor(() => logged(stderr, 'connected to the Stately inspector').length === 1, 'connected');
  await first.close();
  await waitFor(() => logged(stderr, 'lost the Stately inspector').length === 1, 'lost');
  // Attempts after 1 s and 3 s fail (nothing listens); the one after 7 s connects.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  await listen(first.port);
  await waitFor(() => logged(stderr, 'connected to the Stately inspector').length === 2, 'connected again');
  expect(logged(stderr, 'connected to the Stately inspector')).toEqual([
    expect.objectContaining({ level: 'info', msg: `connected to the Stately inspector at ${url}` }),
    expect.objectContaining({
      level: 'info',
      msg: `connected to the Stately inspector at ${url} again, after 2 failed attempts`,
    }),
  ]);
  expect(logged(stderr, 'lost the Stately inspector')).toEqual([
    expect.objectContaining({
      level: 'warn',
      msg: `lost the Stately inspector at ${url} (the connection closed): connecting again in 1000 ms, then at most every 15000 ms, holding meanwhile the newest 200 events, at most 41943040 bytes (drops counted in troupe_inspector_dropped_events)`,
    }),
  ]);
}, 60_000);

it('warns at its stop with the events it held for an inspector that never listened', async () => {
  const gone = await listen();
  await gone.close(); // its port, with nothing listening on it
  const url = `ws://127.0.0.1:${gone.port}/`;
  let stderr = '';
  const { child, base } = await startServeCli({ TROUPE_LOG_FORMAT: 'json' }, ['--inspect-url', url]);
  cleanup.push(() => (child as ChildProcess).kill('SIGKILL'));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(base));
  expect((await client.callTool({ name: 'chat', arguments: { prompt: 'hello' } })).isError).toBeFalsy();
  await client.close();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  // The session's events, held while nothing listened (at most 200), dropped at the stop and told.
  const told = logged(stderr, 'stopped sending to the Stately inspector');
  expect(told).toEqual([
    expect.objectContaining({
      level: 'warn',
      msg: expect.stringMatching(
        new RegExp(
          `^stopped sending to the Stately inspector at ${url}: the [1-9]\\d* event\\(s\\) it had not taken yet were dropped$`,
        ),
      ),
    }),
  ]);
}, 60_000);
