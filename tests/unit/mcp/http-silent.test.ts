/**
 * `closeSilentConnections` on a plain node:http server whose own connection check runs only once a
 * minute, so what closes a connection here is the helper: one that sends nothing is closed after
 * `ms` (Node would close it too, with a 408, but only at its next check); one that has sent a
 * request is left to Node's keep-alive timeout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { closeSilentConnections } from '../../../src/mcp/http-silent.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function listening(ms: number): Promise<number> {
  server = createServer({ connectionsCheckingInterval: 60_000, keepAliveTimeout: 60_000 }, (_req, res) =>
    res.end('ok'),
  );
  server.headersTimeout = 60_000;
  closeSilentConnections(server, ms);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

interface Opened {
  readonly socket: Socket;
  /** What has come so far. */
  received(): string;
  /** When it closed (ms after connecting began), and what had come. */
  readonly closed: Promise<{ afterMs: number; got: string }>;
}

/** A connection that reads all it gets (unread, a close after data would never show). */
function opened(port: number): Promise<Opened> {
  return new Promise((resolve) => {
    const started = performance.now();
    let got = '';
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, received: () => got, closed }));
    socket.on('data', (d: Buffer) => {
      got += d.toString();
    });
    socket.on('error', () => {});
    const closed = new Promise<{ afterMs: number; got: string }>((done) =>
      socket.on('close', () => done({ afterMs: performance.now() - started, got })),
    );
  });
}

it('closes a connection that sends nothing after ms, without an answer', async () => {
  const port = await listening(300);
  const silent = await opened(port);
  const giveUp = setTimeout(() => silent.socket.destroy(), 10_000);
  const { afterMs, got } = await silent.closed;
  clearTimeout(giveUp);
  expect(afterMs).toBeGreaterThanOrEqual(250);
  expect(afterMs).toBeLessThan(5000);
  expect(got).toBe('');
});

it("leaves a connection that has sent a request to Node's keep-alive timeout", async () => {
  const port = await listening(300);
  const used = await opened(port);
  used.socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await expect.poll(() => used.received(), { timeout: 5000 }).toMatch(/^HTTP\/1\.1 200 [\s\S]*ok$/);
  // Past the silent bound several times over: the request cleared it.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  expect(used.socket.destroyed).toBe(false);
  expect(used.socket.readableEnded).toBe(false);
  used.socket.destroy();
  await used.closed;
});
