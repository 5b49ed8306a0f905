/**
 * A 2025-era call cancelled with `notifications/cancelled`, as the SDK's client sends it when a call
 * is aborted. The SDK answers nothing to a cancelled request (as the spec says), so the POST stream
 * that carried the call stayed open for as long as the client kept its connection, which the SDK's
 * client does not close on an abort: each cancelled call held a request, a connection and a place in
 * its caller's open requests, and the session, never idle, was never swept (an audit: 40 cancelled
 * calls a round refused every new call of their caller by the third round, the runtime idle). And a
 * session's `initialize` request, kept for the session's life by the closures of its transport.
 */
import { type IncomingMessage, request } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../src/mcp/event-store.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, startHarness } from './harness.js';
import { ended, HEADERS, initializeRequest, openSession, post } from './raw-legacy.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const hanging = () => [createSimulatedProvider({ name: 'slow', latencyMs: { min: 20_000, max: 20_000 } })];

describe('a call cancelled with notifications/cancelled (2025-era HTTP)', () => {
  it('has its POST stream closed, with no answer, and its session swept once idle', async () => {
    // Idle for 1 s: at 300 ms, under load, the sweep closed the session before the call's POST (404).
    h = await startHarness({ providers: hanging(), http: { idleSessionMs: 1000 } });
    const sid = await openSession(h.url);
    const call = await post(h.url, sid, {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'wait', provider: 'slow' } },
    });
    expect(call.status).toBe(200);
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 100 && runtime.status().running === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(runtime.status().running).toBe(1);
    const cancel = await post(h.url, sid, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 7, reason: 'the user stopped it' },
    });
    expect(cancel.status).toBe(202);
    const text = await ended(call, 3000);
    expect(text, 'the POST stream of the cancelled call is still open').toBeDefined();
    expect(text).not.toMatch(/"id":7/);
    expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
    // Nothing holds the session now: the idle sweep closes it.
    for (let i = 0; i < 200 && h.app.sessionCount > 0; i++) await new Promise((r) => setTimeout(r, 30));
    expect(h.app.sessionCount).toBe(0);
  });

  // The stream is ended, not cut: a cut one would wait for a resume and abort the ended call later.
  it('waits for no resume of a stream a cancel closed: its call is over, nothing is aborted later', async () => {
    h = await startHarness({ providers: hanging(), http: { disconnectGraceMs: 100 } });
    const sid = await openSession(h.url);
    const call = await post(h.url, sid, {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'wait', provider: 'slow' } },
    });
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 100 && runtime.status().running === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await post(h.url, sid, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } });
    expect(await ended(call, 3000)).toBeDefined();
    await new Promise((r) => setTimeout(r, 300)); // past the grace
    // An abort after the grace would find no call and be kept for one that has not started.
    expect(h.mcp.calls.earlyAborts).toBe(0);
  });

  // Each POST is its own request, on its own connection: a server may take the cancel first. On a
  // loaded machine `troupe load` saw it (one cancelled call ran on 30 s, to the dropped stream's grace).
  it('cancels a call whose cancel was taken before the call itself: it never runs', async () => {
    h = await startHarness({ providers: hanging() });
    const sid = await openSession(h.url);
    const cancel = await post(h.url, sid, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 7, reason: 'the user stopped it' },
    });
    expect(cancel.status).toBe(202);
    const stop = new AbortController();
    void post(
      h.url,
      sid,
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'chat', arguments: { prompt: 'wait', provider: 'slow' } },
      },
      stop.signal,
    ).catch(() => undefined);
    const runtime = h.mcp.runtime;
    const ended = () => runtime.status().recent.filter((s) => s.state !== 'running' && s.state !== 'queued');
    for (let i = 0; i < 150 && ended().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(ended().map((s) => s.state)).toEqual(['cancelled']);
    expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
    expect(h.mcp.calls.earlyAborts).toBe(0);
    stop.abort();
  });

  // The SDK's transport maps each request id to its stream until it answers it, and it answers no
  // cancelled request: the entry stayed for the session's life (one a cancelled call, a client
  // connected for days piling them up), and a `Last-Event-ID` resume of that stream waited on it,
  // open with its keep-alive timer, for an answer that never comes.
  it('forgets a cancelled call’s stream: a resume of it with Last-Event-ID ends at once', async () => {
    h = await startHarness({ providers: hanging() });
    const sid = await openSession(h.url);
    const call = await post(h.url, sid, {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'wait', provider: 'slow' } },
    });
    const reader = call.body!.getReader();
    let text = '';
    while (!/^id: ?\S+$/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const primingId = (/^id: ?(\S+)$/m.exec(text) as RegExpExecArray)[1] as string;
    reader.releaseLock();
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 100 && runtime.status().running === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await post(h.url, sid, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } });
    expect(await ended(call, 3000), 'the cancelled call’s POST stream is still open').toBeDefined();
    const resumed = await fetch(h.url, {
      method: 'GET',
      headers: { ...HEADERS, Accept: 'text/event-stream', 'Mcp-Session-Id': sid, 'Last-Event-ID': primingId },
    });
    expect(resumed.status).toBe(200);
    const replay = await ended(resumed, 3000);
    expect(replay, 'the resumed stream of the cancelled call is held open').toBeDefined();
    expect(replay).not.toMatch(/"id":7/);
  });

  it('leaves alone a POST of another call, and one that carried several requests', async () => {
    h = await startHarness({ providers: hanging() });
    const sid = await openSession(h.url);
    const chat = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: `wait ${id}`, provider: 'slow' } },
    });
    const stop = new AbortController();
    const other = await post(h.url, sid, chat(8), stop.signal);
    const batch = await post(h.url, sid, [chat(9), chat(10)], stop.signal);
    const runtime = h.mcp.runtime;
    for (let i = 0; i < 100 && runtime.status().running < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await post(h.url, sid, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } });
    await post(h.url, sid, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } });
    // Call 9 is cancelled; the batch's stream stays open for call 10, and call 8's for itself.
    for (let i = 0; i < 100 && runtime.status().running > 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(runtime.status().running).toBe(2);
    expect(await ended(other, 500)).toBeUndefined();
    expect(await ended(batch, 10)).toBeUndefined();
    stop.abort();
  });
});

/** Capabilities carrying `size` bytes of data (a client may send anything there). */
const blob = (size: number) => ({ experimental: { blob: { data: 'x'.repeat(size) } } });

describe("a 2025-era session's initialize request", () => {
  it('is not kept by the session: its request, and so its raw body, can be collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    h = await startHarness();
    let initialize: WeakRef<object> | undefined;
    h.app.server.on('request', (req: IncomingMessage) => {
      if (initialize === undefined) initialize = new WeakRef(req);
    });
    // A capability of 200 KB, under the bound of an initialize request (256 KiB).
    const body = JSON.stringify(initializeRequest(blob(200_000)));
    const sid = await new Promise<string>((resolve, reject) => {
      const req = request(
        h!.url,
        { method: 'POST', agent: false, headers: { ...HEADERS, Connection: 'close' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers['mcp-session-id'] as string));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(h.app.sessionCount).toBe(1);
    for (let i = 0; i < 10 && initialize?.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    expect(initialize?.deref(), 'the initialize request is still reachable').toBeUndefined();
    // The session lives on and answers.
    const ping = await post(h.url, sid, { jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(ping.status).toBe(200);
    await ping.text();
  });

  it('is refused over 256 KiB, naming the bound, and nothing is opened', async () => {
    h = await startHarness();
    const init = (size: number) => post(h!.url, undefined, initializeRequest(blob(size)));
    const over = await init(300_000);
    expect(over.status).toBe(400);
    expect(await over.json()).toMatchObject({
      error: { code: -32600, message: expect.stringMatching(/at most 262144 bytes .*, got 300\d{3}$/) },
    });
    expect(h.app.sessionCount).toBe(0);
    const under = await init(250_000);
    expect(under.status).toBe(200);
    await under.text();
    expect(h.app.sessionCount).toBe(1);
  });
});

describe("a closed 2025-era session's events", () => {
  it('are dropped from the in-memory event store when the session had no token: nothing can resume them', async () => {
    const events = new MemoryEventStore();
    h = await startHarness({ http: { eventStore: events } });
    const sid = await openSession(h.url);
    const call = await post(h.url, sid, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'kept for a resume', provider: 'fast' } },
    });
    await call.text();
    expect(events.size).toBeGreaterThan(0);
    const closed = await fetch(h.url, { method: 'DELETE', headers: { ...HEADERS, 'Mcp-Session-Id': sid } });
    expect(closed.status).toBe(200);
    expect(events.size).toBe(0);
    expect(events.bytes).toBe(0);
  });
});
