/**
 * `troupe inspector`'s relay (src/observe/inspector-relay.ts) between `--inspect` and Stately's
 * inspector page. `@statelyai/inspect/server`'s own relay listens on every interface and takes a
 * WebSocket from any web page: a page on another site, or a host on the network, read every
 * inspected session's context (prompts, answers). This one is held to loopback and its own page.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectInspector } from '../../src/observe/inspect.js';
import { type InspectorRelay, startInspectorRelay } from '../../src/observe/inspector-relay.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function relay(): Promise<InspectorRelay> {
  const r = await startInspectorRelay({ port: 0 });
  cleanup.push(() => r.close());
  return r;
}

/** Connects as a browser page of `origin` would; resolves with what it got, or the refusal. */
function connect(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ok: true; socket: WebSocket; received: string[] } | { ok: false; status: number | string }> {
  return new Promise((resolve) => {
    const received: string[] = [];
    const socket = new WebSocket(url, { headers });
    socket.on('message', (data) => received.push(String(data)));
    socket.once('open', () => {
      cleanup.push(() => socket.terminate());
      resolve({ ok: true, socket, received });
    });
    socket.once('unexpected-response', (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }));
    socket.once('error', (error) =>
      resolve({ ok: false, status: (error as NodeJS.ErrnoException).code ?? '' }),
    );
  });
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('troupe inspector relay', () => {
  it('refuses a busy port with the listen error, never an unhandled ’error’ event', async () => {
    const busy = await relay();
    const port = Number(new URL(busy.url).port);
    const error = await startInspectorRelay({ port }).then(
      (r) => {
        cleanup.push(() => r.close());
        return undefined;
      },
      (e: unknown) => e,
    );
    expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it("relays a session to its own page, and refuses other sites' pages and rebinding hosts", async () => {
    const r = await relay();
    expect(r.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const port = new URL(r.url).port;
    const page = await connect(r.url, { Origin: `http://127.0.0.1:${port}` });
    expect(page.ok).toBe(true);
    expect(await connect(r.url, { Origin: 'https://evil.example' })).toEqual({ ok: false, status: 401 });
    expect(await connect(r.url, { Origin: `http://127.0.0.1:${Number(port) + 1}` })).toEqual({
      ok: false,
      status: 401,
    });
    expect(await connect(r.url, { Host: `evil.example:${port}` })).toEqual({ ok: false, status: 401 });

    const inspector = await connectInspector({ url: r.url });
    cleanup.push(() => inspector.stop());
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
      defaults: { provider: 'simulated', model: 'sim-fast' },
      inspect: inspector.observer,
    });
    cleanup.push(() => runtime.shutdown());
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'a private question' }] });
    await handle.result;
    if (!page.ok) throw new Error('unreachable');
    await until(() => page.received.some((m) => m.includes('"@xstate.actor"')), 'the actor on the page');
    expect(page.received.join('\n')).toContain(handle.id);
    // A page that opens later gets what came before (as Stately's relay does).
    const late = await connect(r.url, { Origin: `http://localhost:${port}` });
    if (!late.ok) throw new Error(`Expected the relay's own page (localhost) to connect, got ${late.status}`);
    await until(() => late.received.some((m) => m.includes(handle.id)), 'the replay');
  });

  it('serves its page to a loopback Host only, and listens on no other interface', async () => {
    const r = await relay();
    const port = new URL(r.url).port;
    const ok = await fetch(r.page);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    const other = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    if (other !== undefined) {
      const refused = await connect(`ws://${other.address}:${port}/`);
      expect(refused).toEqual({ ok: false, status: 'ECONNREFUSED' });
    }
  });

  it('refuses a host that is not loopback', async () => {
    await expect(startInspectorRelay({ port: 0, host: '0.0.0.0' })).rejects.toThrow(/on this machine/);
  });

  it('keeps at most maxBufferedBytes of messages for a page that connects later, and refuses a message past maxMessageBytes', async () => {
    const r = await startInspectorRelay({ port: 0, maxBufferedBytes: 2500, maxMessageBytes: 4000 });
    cleanup.push(() => r.close());
    const port = new URL(r.url).port;
    const sender = await connect(r.url);
    if (!sender.ok) throw new Error('the sender was refused');
    for (const tag of ['a', 'b', 'c']) sender.socket.send(tag.repeat(1000));
    const page = await connect(r.url, { Origin: `http://127.0.0.1:${port}` });
    if (!page.ok) throw new Error('the page was refused');
    await until(() => page.received.length >= 2, 'the replay');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 3,000 bytes sent, 2,500 kept: the oldest message went.
    expect(page.received.map((m) => m[0])).toEqual(['b', 'c']);
    const closed = new Promise<number>((resolve) => sender.socket.once('close', (code) => resolve(code)));
    sender.socket.send('x'.repeat(5000));
    expect(await closed).toBe(1009);
  });

  it('takes at most maxClients WebSockets at once: one more gets 503; a closed one makes room', async () => {
    const r = await startInspectorRelay({ port: 0, maxClients: 2 });
    cleanup.push(() => r.close());
    const port = new URL(r.url).port;
    const first = await connect(r.url);
    const second = await connect(r.url, { Origin: `http://127.0.0.1:${port}` });
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(await connect(r.url)).toEqual({ ok: false, status: 503 });
    expect(r.clients).toBe(2);
    if (!first.ok) throw new Error('unreachable');
    first.socket.close();
    await until(() => r.clients === 1, 'the closed socket to go');
    expect((await connect(r.url)).ok).toBe(true);
  });

  it('drops a page that stops reading once its backlog passes maxClientBacklogBytes; a reading one keeps getting messages', async () => {
    const mib = 1024 * 1024;
    const r = await startInspectorRelay({
      port: 0,
      maxBufferedMessages: 1,
      maxMessageBytes: 2 * mib,
      maxClientBacklogBytes: 4 * mib,
    });
    cleanup.push(() => r.close());
    const port = new URL(r.url).port;
    const stalled = await connect(r.url, { Origin: `http://127.0.0.1:${port}` });
    const reading = await connect(r.url, { Origin: `http://localhost:${port}` });
    const sender = await connect(r.url);
    if (!stalled.ok || !reading.ok || !sender.ok) throw new Error('a client was refused');
    stalled.socket.pause(); // reads nothing more: the kernel's buffers fill, then the relay's
    // 32 MiB in all (about 8 filled the kernel's buffers here): before the bound, all that the
    // kernel did not hold waited in the relay for the stalled page, however much came.
    for (let i = 0; i < 32; i++) sender.socket.send(String(i % 10).repeat(mib));
    await until(() => r.clients === 2, 'the stalled page to be dropped');
    await until(() => reading.received.length === 32, 'every message on the reading page');
    expect(reading.received.every((m) => m.length === mib)).toBe(true);
  });
});
