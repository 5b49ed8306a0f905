/**
 * `troupe serve --inspect-url` against an inspector that accepts and reads nothing: past 40 MiB
 * unsent, events are dropped, the first drop is one warning in the log, and `/metrics` counts
 * them. The BUILT CLI (`npm run build` first); the SDK's client makes the traffic.
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

async function dropped(base: URL): Promise<number> {
  const text = await (await fetch(new URL('/metrics', base))).text();
  return Number(/^troupe_inspector_dropped_events (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

const SLOW = 'reads too slowly';

it('logs the first dropped event once and counts every drop on /metrics', async () => {
  // Refused at first: serve holds the newest events (at most 200 and 40 MiB) and tries again.
  let accepting = false;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => accepting });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let connected = 0;
  wss.on('connection', (socket) => {
    connected += 1;
    socket.pause(); // reads nothing: the kernel's buffers fill, then serve's
  });
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  );
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  let child: ChildProcess | undefined;
  let stderr = '';
  const { child: started, base } = await startServeCli({}, ['--inspect-url', url]);
  child = started;
  cleanup.push(() => child?.kill('SIGKILL'));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  expect(await dropped(base)).toBe(0);
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(base));
  cleanup.push(() => client.close());
  // About 1.6 MB of inspection events a call (each snapshot carries the prompt; 400 KiB fits
  // sim-pro's window).
  const prompt = 'x'.repeat(400 * 1024);
  const calls = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        client.callTool({ name: 'chat', arguments: { prompt, model: 'sim-pro' } }),
      ),
    );
  // An open connection that answers no ping is closed 25 s after it opened (pingIntervalMs 15 s,
  // pongTimeoutMs 10 s), and its backlog with it: filling 40 MiB on it alone took 24 s on a loaded
  // machine, and past 25 s the warning never came (until 2026-12-07 this test did so). So the
  // traffic fills what serve holds while nothing is connected first (until it drops the oldest),
  // and the open connection is handed all of it at once.
  for (let i = 0; i < 20 && (await dropped(base)) === 0; i++) await calls(4);
  expect(await dropped(base)).toBeGreaterThan(0);
  expect(stderr).not.toContain(SLOW);
  accepting = true;
  while (connected === 0) await new Promise((resolve) => setTimeout(resolve, 25));
  const atOpen = await dropped(base);
  // Past what the kernel takes: a few calls more.
  for (let i = 0; i < 40 && !stderr.includes(SLOW); i++) {
    await calls(1);
    for (let j = 0; j < 20 && !stderr.includes(SLOW); j++)
      await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await calls(2);
  const warnings = stderr.split('\n').filter((line) => line.includes(SLOW));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(
    `the Stately inspector at ${url}/ ${SLOW}: more than 41943040 bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
  );
  // The two calls after the warning: each of their events dropped and counted.
  expect(await dropped(base)).toBeGreaterThan(atOpen + 2);
}, 180_000);
