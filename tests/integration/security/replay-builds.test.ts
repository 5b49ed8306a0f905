/**
 * `Last-Event-ID` replays are built only for clients still there. The SDK
 * builds a replay whole (every event after the id, parsed and written again) before it answers,
 * holding the event loop meanwhile, and nothing stopped it for a client that had gone: an audit
 * (2026-12-05) sent 200 `GET`s resuming one 27 MB stream and closed them after 2 s; `troupe serve`
 * went on building them for more than 6 minutes, from 240 MB to over 3 GB. The store is counted:
 * each `replayEventsAfter` is one replay built. Raw sockets, each closed as soon as it has sent.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../src/mcp/event-store.js';
import { type Harness, startHarness } from '../mcp/harness.js';
import { HEADERS, openSession } from './raw-http.js';

class CountedStore extends MemoryEventStore {
  built = 0;
  override async replayEventsAfter(...args: Parameters<MemoryEventStore['replayEventsAfter']>) {
    this.built += 1;
    return super.replayEventsAfter(...args);
  }
}

const harnesses: Harness[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/** A session with one finished POST stream (a batch of two answers), and its first event's id. */
async function sessionWithStream(): Promise<{ h: Harness; store: CountedStore; sid: string; from: string }> {
  const store = new CountedStore();
  const h = await startHarness({ http: { eventStore: store } });
  harnesses.push(h);
  const sid = await openSession(h);
  const batch = [1, 2].map((id) => ({ jsonrpc: '2.0', id: id + 10, method: 'ping' }));
  const first = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: JSON.stringify(batch),
  });
  const from = /^id: (.+)$/m.exec(await first.text())?.[1] ?? '';
  expect(from).not.toBe('');
  return { h, store, sid, from };
}

/** Connected sockets, each to send `head` (a `GET` resuming from `from`) when told. */
async function connected(h: Harness, count: number): Promise<Socket[]> {
  const opened = Array.from({ length: count }, () => connect(Number(h.url.port), '127.0.0.1'));
  sockets.push(...opened);
  await Promise.all(opened.map((s) => new Promise((resolve) => s.once('connect', resolve))));
  return opened;
}

function resume(h: Harness, sid: string, from: string): string {
  return (
    `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\nAccept: text/event-stream\r\n` +
    `Mcp-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: ${sid}\r\nLast-Event-ID: ${from}\r\n\r\n`
  );
}

/** The status line of the answer on `socket`. */
function status(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n')));
    });
    socket.on('close', () => resolve(text.slice(0, text.indexOf('\r\n'))));
  });
}

it('builds no replay for a client that left before it was read', async () => {
  const { h, store, sid, from } = await sessionWithStream();
  const gone = await connected(h, 20);
  // Each sends its GET and closes its end at once: all of it is there before the server reads it.
  for (const socket of gone) socket.end(resume(h, sid, from));
  // The server ends each at once; 10 s at most (on the old code they stayed open, each built).
  const closed = gone.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
  await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  expect(store.built).toBe(0);
  // A client that stays gets its replay.
  const [staying] = await connected(h, 1);
  const answered = status(staying as Socket);
  staying?.write(resume(h, sid, from));
  expect(await answered).toBe('HTTP/1.1 200 OK');
  expect(store.built).toBe(1);
});
