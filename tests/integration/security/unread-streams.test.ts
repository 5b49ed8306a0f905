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
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';
import {
  closedWithin,
  HEADERS,
  openSession,
  postHead,
  serverSockets,
  type Unread,
  unread,
} from './raw-http.js';

const MiB = 1024 * 1024;
const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/**
 * 16 answers of 1 MiB each: every one an SSE event of its own, 16 MiB in all. A batch is held whole
 * until its last answer, so one over `maxEnvelopeBytes` is refused: the tests raise it with the body's bound.
 */
const BATCH = JSON.stringify(
  Array.from({ length: 16 }, (_, i) => ({
    jsonrpc: '2.0',
    id: i + 10,
    method: 'prompts/get',
    params: { name: 'review', arguments: { content: 'x'.repeat(MiB) } },
  })),
);
const TOTAL = 16 * MiB;

it('past the unsent bytes bound, cuts off a batch’s answers its client does not read, though each event is small', async () => {
  // Each 1 MiB event goes out whole; the 16 of them wait, 16 MiB over the 8 MiB bound. The stall
  // bound alone would take a minute.
  const h = await startHarness({
    http: {
      maxBodyBytes: 32 * MiB,
      maxEnvelopeBytes: 32 * MiB,
      stalledResponseMs: 60_000,
      maxUnsentBytes: 8 * MiB,
    },
  });
  harnesses.push(h);
  const sid = await openSession(h);
  const served = serverSockets(h);
  const batch = await unread(h, postHead(h, sid, BATCH), BATCH);
  // The server's end closes: the cut, seen without reading (a fixed wait is too soon on a loaded machine).
  await closedWithin(served.of(batch.socket), 20_000);
  const got = await batch.drain(8000, TOTAL);
  expect(got.closed).toBe(true);
  expect(got.bytes).toBeLessThan(TOTAL);
});

it('past the unsent bytes bound, cuts off replays of a stream (Last-Event-ID) their clients do not read', async () => {
  // One 16 MiB stream, read whole (under the bound, a client that reads is not cut), then asked for again from its first event by three sockets that
  // read nothing: 48 MiB of copies over a 20 MiB bound, from three requests of a few hundred bytes.
  const h = await startHarness({
    http: {
      maxBodyBytes: 32 * MiB,
      maxEnvelopeBytes: 32 * MiB,
      stalledResponseMs: 60_000,
      maxUnsentBytes: 20 * MiB,
    },
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
  const served = serverSockets(h);
  const replays: Unread[] = [];
  for (let i = 0; i < 3; i++) replays.push(await unread(h, head));
  // Until the server has closed one of them (a fixed wait is too soon on a loaded machine); 20 s at most.
  const cut = () => replays.filter((r) => served.of(r.socket)?.destroyed === true).length;
  for (let waited = 0; cut() < 1 && waited < 20_000; waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  const got = await Promise.all(replays.map((replay) => replay.drain(8000, TOTAL)));
  // The first copy waits written (16 MiB); the events of the second that do not fit beside it are
  // held (`http-held.ts`), 20 MiB at most; the third fits neither and is cut off. Before 2026-12-07
  // nothing was held, and two were cut, leaving at most one copy waiting.
  expect(got.filter((g) => g.closed && g.bytes < TOTAL).length).toBeGreaterThanOrEqual(1);
  for (const replay of replays) replay.socket.destroy();
});
