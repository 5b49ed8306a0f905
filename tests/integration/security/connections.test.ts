/**
 * Open client connections are bounded (`maxConnections`): past it a new connection is closed at
 * once, so clients holding connections open cannot take every file descriptor the process has
 * (its provider sockets and Redis connections need some). A connection that leaves gives its place
 * back. Before 2026-12-02 only the OS's descriptor limit bounded them. Raw sockets.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ http: { maxConnections: 3 } });
});
afterAll(async () => {
  await h.close();
});

/**
 * An open connection that has sent nothing; `closed` resolves when the server ends it. It reads
 * (and drops) whatever the server sends: a socket whose data is never read emits neither 'end' nor
 * 'close' when the server closes it after writing something (Node's own headers check answers 408
 * before it closes), so an unread socket can look open for good after the server has closed it.
 */
function open(): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(h.url.port), '127.0.0.1', () => resolve({ socket, closed }));
    socket.resume();
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
  });
}

/** A request answered at all (404: the harness serves no page there) came through. */
async function answered(): Promise<number> {
  const res = await fetch(new URL('/nothing-here', h.url), { headers: { connection: 'close' } });
  await res.text();
  return res.status;
}

it('closes a connection past maxConnections at once, and takes one again once a place is free', async () => {
  const held = await Promise.all([open(), open(), open()]);
  // Give the server the time to count them.
  await new Promise((r) => setTimeout(r, 100));
  const extra = await open();
  const outcome = await Promise.race([
    extra.closed.then(() => 'closed'),
    new Promise((r) => setTimeout(() => r('open'), 2000)),
  ]);
  expect(outcome).toBe('closed');
  // The held ones stay open.
  for (const { socket } of held) expect(socket.destroyed).toBe(false);

  held[0]?.socket.destroy();
  await held[0]?.closed;
  // Once the server has counted the close (polled: a loaded machine may take a moment), a place is free.
  await expect.poll(() => answered().catch(() => 0), { timeout: 5000, interval: 100 }).toBe(404);
  for (const { socket } of held) socket.destroy();
});

it('closes the connection of a request refused before its body is read (401, 403, 404)', async () => {
  // Kept open, Node reads and drops the declared body as slowly as the client sends it: an
  // unauthenticated client held its connection for the whole request timeout (30 s).
  const guarded = await startHarness({ http: { token: 'conn-token-123', requestTimeoutMs: 30_000 } });
  try {
    const refusals: [number, string, string][] = [
      [401, '/mcp', ''],
      [403, '/mcp', 'Origin: http://evil.example\r\nAuthorization: Bearer conn-token-123\r\n'],
      [404, '/nothing-here', 'Authorization: Bearer conn-token-123\r\n'],
    ];
    for (const [status, path, extra] of refusals) {
      const started = performance.now();
      const { answer, closedAfterMs } = await new Promise<{ answer: string; closedAfterMs: number }>(
        (resolve, reject) => {
          let answer = '';
          const socket = connect(Number(guarded.url.port), '127.0.0.1', () => {
            socket.write(
              `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${guarded.url.port}\r\n${extra}` +
                'Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"jsonrpc":',
            );
          });
          socket.on('data', (d: Buffer) => {
            answer += d.toString();
          });
          socket.on('error', reject);
          socket.on('close', () => resolve({ answer, closedAfterMs: performance.now() - started }));
          setTimeout(() => resolve({ answer, closedAfterMs: Number.POSITIVE_INFINITY }), 3000);
        },
      );
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(closedAfterMs).toBeLessThan(3000);
    }
  } finally {
    await guarded.close();
  }
});

it('closes a connection that sends nothing within headersTimeoutMs, so silent sockets cannot hold every place', async () => {
  // Held open, anyone who reached the port, with no token, could hold all maxConnections. Node
  // answers 408 and closes a connection whose headers have not come within headersTimeout, checked
  // every connectionsCheckingInterval; http-silent.ts closes one that sent nothing at the bound itself.
  const quiet = await startHarness({ http: { maxConnections: 2, headersTimeoutMs: 1000 } });
  try {
    /**
     * Connects and sends nothing; resolves once connected with when the server closed it (ms). It
     * reads what the server sends: unread, a 408 kept 'end' and 'close' from ever firing, and the
     * socket the server had closed at 1 s looked open until this side gave up at 8 s.
     */
    const connected = (port: string) =>
      new Promise<{ closedAfterMs: Promise<number> }>((resolve) => {
        const started = performance.now();
        const socket = connect(Number(port), '127.0.0.1', () => resolve({ closedAfterMs }));
        socket.resume();
        const closedAfterMs = new Promise<number>((done) => {
          socket.on('close', () => done(performance.now() - started));
        });
        socket.on('error', () => {});
        setTimeout(() => socket.destroy(), 8000);
      });
    const silent = await Promise.all([connected(quiet.url.port), connected(quiet.url.port)]);
    for (const closedAfterMs of await Promise.all(silent.map((s) => s.closedAfterMs))) {
      expect(closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(closedAfterMs).toBeLessThan(4000);
    }
    // Their places are free again.
    const res = await fetch(new URL('/nothing-here', quiet.url), { headers: { connection: 'close' } });
    expect(res.status).toBe(404);
  } finally {
    await quiet.close();
  }
}, 15_000);
