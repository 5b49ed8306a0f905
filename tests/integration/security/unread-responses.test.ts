/**
 * A client that stops reading its answers cannot make the server hold them. Node buffers what a
 * response cannot send without limit, and nothing ended such a response: 400 requests for a
 * `review` prompt (which echoes its 4 MiB `content`) never read took the server to 5 GB. Now a
 * response with bytes unsent for `stalledResponseMs` is cut off, and so is the longest waiting one
 * of the caller holding the most while all unsent bytes are over `maxUnsentBytes` (an answer of the
 * caller holding the most that does not fit is held instead, `http-held.ts`). A client that
 * reads gets the same large answer whole. Raw sockets, so the client can stop reading.
 */
import { afterEach, expect, it } from 'vitest';
import type { HttpAppOptions } from '../../../src/mcp/http.js';
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

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/** Larger than a loopback socket's buffers can take (send 4 MiB at most here, receive 128 KiB unread). */
const CONTENT = 12 * 1024 * 1024;

async function start(http: Partial<HttpAppOptions>): Promise<Harness> {
  const h = await startHarness({ http: { maxBodyBytes: 16 * 1024 * 1024, ...http } });
  harnesses.push(h);
  return h;
}

function reviewRequest(id: number, size = CONTENT): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'prompts/get',
    params: { name: 'review', arguments: { content: 'x'.repeat(size) } },
  });
}

/** Sends a request whose answer is larger than the socket buffers, and never reads it. */
function unreadReview(h: Harness, sid: string, id: number, token?: string, size?: number): Promise<Unread> {
  const body = reviewRequest(id, size);
  return unread(h, postHead(h, sid, body, token), body);
}

it('cuts off a response whose client stopped reading; a client that reads gets the same answer whole', async () => {
  const h = await start({ stalledResponseMs: 300 });
  const sid = await openSession(h);
  const served = serverSockets(h);
  const unread = await unreadReview(h, sid, 2);
  // The server's end of this connection closes: the cut, seen without reading (a fixed wait of
  // 2.5 s came too soon beside a heavy test file on a loaded machine, where the 12 MiB answer
  // took longer to build).
  await closedWithin(served.of(unread.socket), 20_000);
  // Reading now gets what went out before the cut, then the end: never the whole answer.
  const got = await unread.drain();
  expect(got.closed).toBe(true);
  expect(got.bytes).toBeLessThan(CONTENT);

  const read = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: reviewRequest(3),
  });
  const text = await read.text();
  expect(read.status).toBe(200);
  expect(text.length).toBeGreaterThan(CONTENT);
  expect(text).toContain('x'.repeat(1000));
});

it('past the unsent bytes bound, holds the newer answer rather than cut the older; both come whole once read', async () => {
  // Each answer (12 MiB) fits the bound, both do not. Until 2026-12-07 the older one was cut off
  // at the next check; now the newer waits, held (`http-held.ts`), until the older has gone out.
  const h = await start({ stalledResponseMs: 60_000, maxUnsentBytes: 20 * 1024 * 1024 });
  const sid = await openSession(h);
  const first = await unreadReview(h, sid, 2);
  // The older answer is written and waits unsent before the newer comes (a fixed 1.5 s until 2026-12-08).
  await expect.poll(() => h.app.unsentBytes).toBeGreaterThan(0);
  const second = await unreadReview(h, sid, 3);
  await expect.poll(() => h.app.heldBytes).toBeGreaterThan(0);
  // Past two checks (one a second): a version that cut the older at its next check has cut it by now.
  await new Promise((r) => setTimeout(r, 2500));
  const older = await first.drain(8000, CONTENT + 1);
  const newer = await second.drain(8000, CONTENT + 1);
  expect(older).toMatchObject({ closed: false });
  expect(older.bytes).toBeGreaterThan(CONTENT);
  expect(newer.bytes).toBeGreaterThan(CONTENT);
  first.socket.destroy();
  second.socket.destroy();
});

it('past the unsent bytes bound, cuts off the response of the caller holding the most to make room for another’s answer', async () => {
  // Alice's 12 MiB answer waits first, and she never reads it; then Bob's 7 MiB comes, his client
  // paused: over the 14 MiB bound, Alice holds the most and loses hers, and Bob's is written. (Before
  // 2026-12-04 the response waiting longest went, whoever held the most.)
  const MiB = 1024 * 1024;
  const h = await start({
    tokens: [
      { name: 'alice', token: 'alice-token-1' },
      { name: 'bob', token: 'bob-token-22' },
    ],
    stalledResponseMs: 60_000,
    maxUnsentBytes: 14 * MiB,
  });
  const served = serverSockets(h);
  const alice = await unreadReview(h, await openSession(h, 'alice-token-1'), 2, 'alice-token-1', CONTENT);
  // Her answer is written and waits unsent before Bob's comes; then hers is cut off for his (both
  // fixed waits, 1.5 s and 2.5 s, until 2026-12-08; reading Bob's before the cut would make room).
  await expect.poll(() => h.app.unsentBytes).toBeGreaterThan(0);
  const bob = await unreadReview(h, await openSession(h, 'bob-token-22'), 2, 'bob-token-22', 7 * MiB);
  await closedWithin(served.of(alice.socket), 20_000);
  const [bobs, alices] = await Promise.all([bob.drain(8000, 7 * MiB + 1), alice.drain()]);
  expect(bobs.bytes).toBeGreaterThan(7 * MiB);
  expect(alices).toMatchObject({ closed: true });
  expect(alices.bytes).toBeLessThan(CONTENT);
  bob.socket.destroy();
});

it('does not cut off a client that reads its answer slowly, past the stall time in all', async () => {
  // One chunk of the answer every 30 ms: some 6 s for the 12 MiB, bytes waiting at every check
  // and the stall bound at 2.5 s. Taking bytes is progress, and starts the wait afresh.
  const h = await start({ stalledResponseMs: 2500 });
  const sid = await openSession(h);
  const slow = await unreadReview(h, sid, 2);
  const started = performance.now();
  let bytes = 0;
  const closed = await new Promise<boolean>((done) => {
    slow.socket.on('close', () => done(true));
    slow.socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      slow.socket.pause();
      if (bytes > CONTENT) return done(false);
      setTimeout(() => slow.socket.resume(), 30);
    });
    slow.socket.resume();
  });
  expect(closed).toBe(false);
  expect(bytes).toBeGreaterThan(CONTENT);
  // It did take longer than the stall bound: the test measured what it says.
  expect(performance.now() - started).toBeGreaterThan(2500 + 1000);
  slow.socket.destroy();
});
