/**
 * A body over the cap gets its 413 once the client has sent it (read and dropped, not kept), or
 * after a bound, and only then is the connection closed. Until 2026-12-06 the 413 went out at once
 * and the connection closed under a client still sending: fetch (undici, under the MCP SDK's
 * client) met the reset and failed `EPIPE` without the 413 in 7 of 8 calls measured with a body of 4.5 to
 * 40 MiB against `troupe serve`'s 4 MiB cap, so a user never read "Request body over N bytes".
 * Raw sockets, so what the server does and when is seen byte for byte.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const CAP = 64 * 1024;
let h: Harness;
beforeAll(async () => {
  // Half the request timeout (1 s) bounds how long a refused body is drained.
  h = await startHarness({ http: { maxBodyBytes: CAP, requestTimeoutMs: 2000 } });
});
afterAll(async () => {
  await h.close();
});

interface Conn {
  readonly socket: Socket;
  answer(): string;
  closed(): boolean;
  errors(): string[];
}

/** A POST whose headers declare `length` bytes (or none: chunked), sent without its body yet. */
function open(length: number | 'chunked'): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let answer = '';
    let closed = false;
    const errors: string[] = [];
    const socket = connect(Number(h.url.port), '127.0.0.1', () => {
      const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\n${framing}\r\n\r\n`,
        () => resolve({ socket, answer: () => answer, closed: () => closed, errors: () => errors }),
      );
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      errors.push(e.code ?? e.message);
      reject(e);
    });
  });
}

function send(conn: Conn, data: string): Promise<void> {
  return new Promise((resolve) => conn.socket.write(data, () => resolve()));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('answers 413 to a declared body over the cap only once the client has sent it, then closes', async () => {
  const length = 3 * CAP;
  const conn = await open(length);
  await send(conn, 'a'.repeat(CAP * 2));
  // Two thirds sent, past the cap: the server reads on, and neither answers nor closes yet.
  await pause(300);
  expect(conn.answer()).toBe('');
  expect(conn.closed()).toBe(false);
  await send(conn, 'a'.repeat(length - CAP * 2));
  await expect.poll(() => conn.closed(), { timeout: 5000 }).toBe(true);
  expect(conn.errors()).toEqual([]);
  expect(conn.answer()).toMatch(/^HTTP\/1\.1 413 /);
  expect(conn.answer()).toMatch(/\r\nconnection: close\r\n/i);
  expect(conn.answer()).toContain(`"Request body over ${CAP} bytes"`);
});

it('answers 413 to a chunked body over the cap once its last chunk came', async () => {
  const conn = await open('chunked');
  const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
  await send(conn, chunk('a'.repeat(CAP)) + chunk('a'.repeat(CAP)));
  await pause(300);
  expect(conn.answer()).toBe('');
  await send(conn, `${chunk('a'.repeat(1000))}0\r\n\r\n`);
  await expect.poll(() => conn.closed(), { timeout: 5000 }).toBe(true);
  expect(conn.errors()).toEqual([]);
  expect(conn.answer()).toMatch(/^HTTP\/1\.1 413 /);
  expect(conn.answer()).toContain(`"Request body over ${CAP} bytes"`);
});

it('answers 413 and closes after the bound when the rest of the body never comes', async () => {
  const started = Date.now();
  const conn = await open(10 * CAP);
  await send(conn, 'a'.repeat(CAP * 2));
  // Half the request timeout: the 413 comes, not Node's 408 at the request timeout (2 s).
  await expect.poll(() => conn.closed(), { timeout: 5000 }).toBe(true);
  expect(conn.answer()).toMatch(/^HTTP\/1\.1 413 /);
  expect(conn.answer()).toContain(`"Request body over ${CAP} bytes"`);
  expect(Date.now() - started).toBeLessThan(1900);
});
