/**
 * Raw HTTP for the tests of clients that stop reading (`unread-responses`, `unread-streams`): a
 * 2025-era MCP session opened with fetch, requests sent on sockets of their own whose answers are
 * not read, and the server's end of a connection, to see the server cut it off without reading.
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';
import type { Harness } from '../mcp/harness.js';

export const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

/** Opens a 2025-era MCP session (initialize, then initialized); its id. */
export async function openSession(h: Harness, token?: string): Promise<string> {
  const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const init = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, ...auth },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await init.text();
  const sid = init.headers.get('mcp-session-id') ?? '';
  const ready = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, ...auth, 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ready.text();
  return sid;
}

export interface Unread {
  readonly socket: Socket;
  /** Reads what the server sends until it closes the connection, `enough` bytes came or `ms` passed. */
  readonly drain: (ms?: number, enough?: number) => Promise<{ bytes: number; closed: boolean }>;
}

/** Sends `head` (its header lines, each ending in CRLF) and `body` on a socket of its own, and reads nothing of the answer. */
export function unread(h: Harness, head: string, body = ''): Promise<Unread> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let bytes = 0;
    const drain = (ms = 5000, enough = Number.POSITIVE_INFINITY) =>
      new Promise<{ bytes: number; closed: boolean }>((done) => {
        const timer = setTimeout(() => done({ bytes, closed }), ms);
        socket.on('close', () => {
          clearTimeout(timer);
          done({ bytes, closed });
        });
        socket.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes >= enough) done({ bytes, closed });
        });
        socket.resume();
      });
    const socket = connect(Number(h.url.port), '127.0.0.1', () => {
      socket.pause();
      socket.write(`${head}\r\n`);
      socket.write(body, () => resolve({ socket, drain }));
    });
    socket.on('error', (error) => (closed ? undefined : reject(error)));
    socket.on('close', () => {
      closed = true;
    });
  });
}

/** A POST's header lines for `body` in MCP session `sid` (with `token`'s bearer when given). */
export function postHead(h: Harness, sid: string, body: string, token?: string): string {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  return (
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\n${auth}Content-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-11-25\r\n` +
    `Mcp-Session-Id: ${sid}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
  );
}

/** The server's sockets by the client's port, to see the server close one without reading it. Call before connecting. */
export function serverSockets(h: Harness): { of: (client: Socket) => Socket | undefined } {
  const byPort = new Map<number, Socket>();
  h.app.server.on('connection', (socket: Socket) => {
    if (socket.remotePort !== undefined) byPort.set(socket.remotePort, socket);
  });
  return { of: (client) => (client.localPort === undefined ? undefined : byPort.get(client.localPort)) };
}

/** Resolves when `socket` closes; fails past `ms`. */
export async function closedWithin(socket: Socket | undefined, ms: number): Promise<void> {
  expect(socket).toBeDefined();
  const s = socket as Socket;
  if (s.destroyed) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not cut off within ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
