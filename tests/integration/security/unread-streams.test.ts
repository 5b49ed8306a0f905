/**
 * An SSE answer written as many events is held to the unsent bytes bound too. The SDK's transports
 * write such a response from a web stream and wait for `drain` whenever `write` says Node's buffer
 * is full; what waits meanwhile sits in the web stream's queue, which `writableLength` (what the
 * bound reads) does not count. So a client that read none of a batch's answers, or of a replay
 * (`Last-Event-ID`), made the server hold them whole until the stall bound, 30 s later: an audit
 * (2026-12-05) replayed one 27 MB stream (a batch of 100 `sessions` calls, an 11 KB request) to
 * 200 sockets that read nothing, and `troupe serve` went from 280 to 760 MB with the bound at
 * 64 MiB. Raw sockets, so the client can stop reading.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const MiB = 1024 * 1024;
const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

/** 16 answers of 1 MiB each: every one an SSE event of its own, 16 MiB in all. */
const BATCH = JSON.stringify(
  Array.from({ length: 16 }, (_, i) => ({
    jsonrpc: '2.0',
    id: i + 10,
    method: 'prompts/get',
    params: { name: 'review', arguments: { content: 'x'.repeat(MiB) } },
  })),
);
const TOTAL = 16 * MiB;

async function openSession(h: Harness): Promise<string> {
  const init = await fetch(h.url, {
    method: 'POST',
    headers: HEADERS,
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
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ready.text();
  return sid;
}

interface Unread {
  readonly socket: Socket;
  /** Reads what the server sends until it closes the connection, `enough` bytes came or `ms` passed. */
  readonly drain: (ms?: number, enough?: number) => Promise<{ bytes: number; closed: boolean }>;
}

/** Sends `head` (and `body`) on a socket of its own and reads nothing of the answer. */
function unread(h: Harness, head: string, body = ''): Promise<Unread> {
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

function postHead(h: Harness, sid: string, body: string): string {
  return (
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-11-25\r\n` +
    `Mcp-Session-Id: ${sid}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
  );
}

it('past the unsent bytes bound, cuts off a batch’s answers its client does not read, though each event is small', async () => {
  // Each 1 MiB event goes out whole; the 16 of them wait, 16 MiB over the 8 MiB bound. The stall
  // bound alone would take a minute.
  const h = await startHarness({
    http: { maxBodyBytes: 32 * MiB, stalledResponseMs: 60_000, maxUnsentBytes: 8 * MiB },
  });
  harnesses.push(h);
  const sid = await openSession(h);
  const batch = await unread(h, postHead(h, sid, BATCH), BATCH);
  await new Promise((r) => setTimeout(r, 3000));
  const got = await batch.drain(8000, TOTAL);
  expect(got.closed).toBe(true);
  expect(got.bytes).toBeLessThan(TOTAL);
});

it('past the unsent bytes bound, cuts off replays of a stream (Last-Event-ID) their clients do not read', async () => {
  // One 16 MiB stream, read whole (under the bound, a client that reads is not cut), then asked for again from its first event by three sockets that
  // read nothing: 48 MiB of copies over a 20 MiB bound, from three requests of a few hundred bytes.
  const h = await startHarness({
    http: { maxBodyBytes: 32 * MiB, stalledResponseMs: 60_000, maxUnsentBytes: 20 * MiB },
  });
  harnesses.push(h);
  const sid = await openSession(h);
  const first = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: BATCH,
  });
  const stream = await first.text();
  const from = /^id: (.+)$/m.exec(stream)?.[1] ?? '';
  expect(from).not.toBe('');
  const head =
    `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\nAccept: text/event-stream\r\n` +
    `Mcp-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: ${sid}\r\nLast-Event-ID: ${from}\r\n`;
  const replays = [];
  for (let i = 0; i < 3; i++) replays.push(await unread(h, head));
  await new Promise((r) => setTimeout(r, 3000));
  const got = await Promise.all(replays.map((replay) => replay.drain(8000, TOTAL)));
  // At least two are cut, which leaves at most one whole copy (16 MiB) waiting, under the bound.
  expect(got.filter((g) => g.closed && g.bytes < TOTAL).length).toBeGreaterThanOrEqual(2);
  for (const replay of replays) replay.socket.destroy();
});
