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

it('logs the first dropped event once and counts every drop on /metrics', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
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
  while (connected === 0) await new Promise((resolve) => setTimeout(resolve, 25));
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(base));
  cleanup.push(() => client.close());
  // About 400 KB of inspection events a call (each snapshot carries the prompt; 100 KiB fits the
  // simulated model's window): 64 MB in all.
  const prompt = 'x'.repeat(100 * 1024);
  for (let batch = 0; batch < 16; batch++)
    await Promise.all(
      Array.from({ length: 10 }, () => client.callTool({ name: 'chat', arguments: { prompt } })),
    );
  for (let i = 0; i < 200 && !stderr.includes('reads too slowly'); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  const warnings = stderr.split('\n').filter((line) => line.includes('reads too slowly'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(
    `the Stately inspector at ${url}/ reads too slowly: more than 41943040 bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
  );
  expect(await dropped(base)).toBeGreaterThan(50);
}, 60_000);
