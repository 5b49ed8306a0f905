/**
 * What `--inspect` keeps for an inspector that does not read, or is not there. `@statelyai/inspect`
 * 0.7 sends every event on its WebSocket at once, so with an inspector that accepts and never reads,
 * each event past the kernel's buffers waited in troupe's memory without end; while not connected
 * it held 200 events whatever their size, and it never connected again after the inspector closed
 * the connection. troupe's sender (src/observe/inspector-sender.ts) holds at most `maxBacklogBytes`
 * in all, and connects again with a growing delay.
 */
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import * as troupe from '../../src/index.js';
import { type ConnectedInspector, connectInspector } from '../../src/observe/inspect.js';
import type { InspectObserver } from '../../src/runtime/session-inspection.js';
import { inspectedRuntime, traffic } from '../support/inspected-traffic.js';

const MIB = 1024 * 1024;
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/**
 * A WebSocket server on loopback (on `port`, or any free one); `stalled` pauses each socket as it
 * connects: it reads nothing. `close()` ends every connection and stops listening.
 */
async function inspectorServer(stalled: boolean, port = 0) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: string[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    if (stalled) socket.pause();
    socket.on('message', (data) => received.push(String(data)));
  });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    });
  cleanup.push(close);
  const bound = (wss.address() as AddressInfo).port;
  return { url: `ws://127.0.0.1:${bound}`, port: bound, received, sockets, close, wss };
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The inspector, once its WebSocket is open (events sent before are held, not sent). */
async function connected(url: string, options: Parameters<typeof connectInspector>[0] = {}) {
  const inspector = await connectInspector({ url, ...options });
  cleanup.push(() => inspector.stop());
  return inspector;
}

function runtimeFor(inspect: InspectObserver) {
  return inspectedRuntime(inspect, (step) => cleanup.push(step));
}

/** Backlog after each of `rounds` rounds of 50 sessions with 64 KiB prompts (about 13 MB a round). */
async function stalledRounds(inspector: ConnectedInspector, rounds: number): Promise<number[]> {
  const runtime = runtimeFor(inspector.observer);
  const backlog: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await traffic(runtime, 50, 64 * 1024);
    backlog.push(inspector.backlogBytes);
  }
  return backlog;
}

describe('the inspector’s backlog', () => {
  it('grows with the traffic while an inspector reads nothing, when nothing bounds it', async () => {
    const server = await inspectorServer(true);
    const inspector = await connected(server.url, { maxBacklogBytes: Number.MAX_SAFE_INTEGER });
    await until(() => server.sockets.length === 1 && inspector.connected, 'the inspector to connect');
    const backlog = await stalledRounds(inspector, 4);
    // Each round adds its 13 MB once the kernel's buffers are full: this is what was unbounded.
    for (let i = 1; i < backlog.length; i++)
      expect(backlog[i] as number).toBeGreaterThan((backlog[i - 1] as number) + 8 * MIB);
    expect(backlog.at(-1)).toBeGreaterThan(32 * MIB);
    expect(inspector.droppedEvents).toBe(0);
    expect(server.received).toEqual([]);
  });

  it('holds at most maxBacklogBytes and one event for a stalled inspector, counts the drops, tells once, and sends again once it reads', async () => {
    const server = await inspectorServer(true);
    const told: string[] = [];
    const inspector = await connected(server.url, {
      maxBacklogBytes: 4 * MIB,
      onFirstDrop: (message) => told.push(message),
    });
    await until(() => server.sockets.length === 1 && inspector.connected, 'the inspector to connect');
    const backlog = await stalledRounds(inspector, 4);
    // 52 MB sent without the bound; one event here is about 70 KB.
    for (const bytes of backlog) expect(bytes).toBeLessThanOrEqual(4 * MIB + MIB);
    expect(Math.max(...backlog)).toBeGreaterThan(4 * MIB);
    const dropped = inspector.droppedEvents;
    expect(dropped).toBeGreaterThan(100);
    expect(told).toEqual([
      `the Stately inspector at ${server.url}/ reads too slowly: more than 4194304 bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
    ]);
    // The inspector reads again: what waited arrives, and later events are sent, none dropped.
    server.sockets[0]?.resume();
    await until(() => inspector.backlogBytes === 0, 'the backlog to drain');
    const later = await traffic(runtimeFor(inspector.observer), 2, 16);
    const of = (id: string) => server.received.filter((text) => text.includes(id)).length;
    await until(() => later.every((id) => of(id) === 7), 'the two later sessions, whole');
    expect(inspector.droppedEvents).toBe(dropped);
    expect(told).toHaveLength(1);
  });

  it('sends every event to an inspector that reads, in the order they came, and drops none', async () => {
    const server = await inspectorServer(false);
    const inspector = await connected(server.url, { maxBacklogBytes: 4 * MIB });
    await until(() => server.sockets.length === 1 && inspector.connected, 'the inspector to connect');
    const reported: string[] = [];
    const runtime = runtimeFor((event) => {
      reported.push(`${event.type} ${event.actorRef.sessionId} ${'event' in event ? event.event.type : ''}`);
      inspector.observer(event);
    });
    await traffic(runtime, 40, 1024);
    await until(() => server.received.length === reported.length, 'every event');
    const sent = server.received.map((text) => {
      const e = JSON.parse(text) as { type: string; sessionId: string; event?: { type: string } };
      return `${e.type} ${e.sessionId} ${e.event?.type ?? ''}`;
    });
    expect(sent).toEqual(reported);
    expect(reported.length).toBe(40 * 7);
    expect(inspector.droppedEvents).toBe(0);
  });

  it('refuses a maxBacklogBytes that is not an integer from 0', async () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(connectInspector({ url: 'ws://127.0.0.1:9', maxBacklogBytes: bad })).rejects.toThrow(
        /^Expected `maxBacklogBytes` to be an integer from 0 to 9007199254740991, got `/,
      );
  });

  it('refuses held events below 0 and reconnection delays or timeouts below 1 ms', async () => {
    const url = 'ws://127.0.0.1:9';
    await expect(connectInspector({ url, maxDeferredEvents: -1 })).rejects.toThrow(
      'Expected `maxDeferredEvents` to be an integer from 0 to 9007199254740991, got `-1` (number)',
    );
    for (const name of ['minReconnectDelayMs', 'maxReconnectDelayMs', 'connectTimeoutMs'])
      for (const bad of [0, 2.5])
        await expect(connectInspector({ url, [name]: bad })).rejects.toThrow(
          `Expected \`${name}\` to be an integer from 1 to 9007199254740991, got \`${bad}\` (number)`,
        );
  });

  it('is troupe’s public API, bounded at 40 MiB unless told otherwise', () => {
    expect(troupe.connectInspector).toBe(connectInspector);
    expect(troupe.DEFAULT_INSPECTOR_BACKLOG_BYTES).toBe(40 * MIB);
  });

  it('sends while nothing waits with maxBacklogBytes 0: the bound is on bytes past it, not at it', async () => {
    const server = await inspectorServer(false);
    const inspector = await connected(server.url, { maxBacklogBytes: 0 });
    await until(() => server.sockets.length === 1 && inspector.connected, 'the inspector to connect');
    const [id] = await traffic(runtimeFor(inspector.observer), 1, 16);
    await until(() => server.received.length === 7, 'the session’s seven events');
    expect(server.received.every((text) => text.includes(id as string))).toBe(true);
    expect(inspector.droppedEvents).toBe(0);
  });
});

/** The messages of `received` before the first that names one of `ids`, and their bytes. */
function heldBefore(received: readonly string[], ids: readonly string[]) {
  const end = received.findIndex((text) => ids.some((id) => text.includes(id)));
  const held = received.slice(0, end);
  return { held, bytes: held.reduce((sum, text) => sum + Buffer.byteLength(text), 0) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const QUICK = { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 };

describe('the inspector’s connection', () => {
  it.each([
    ['before any inspector listened', false],
    ['after the inspector closed the connection', true],
  ])(
    'holds at most maxBacklogBytes of the newest events while nothing listens (%s), counts the rest, and sends them once an inspector does',
    async (_, wasOpen) => {
      const gone = await inspectorServer(false);
      const told: string[] = [];
      const inspector = await connected(gone.url, {
        ...QUICK,
        maxBacklogBytes: 2 * MIB,
        onFirstDrop: (message) => told.push(message),
      });
      if (wasOpen) await until(() => inspector.connected, 'the inspector to connect');
      await gone.close(); // its port, with nothing listening on it
      await until(() => !inspector.connected, 'the connection to close');
      const runtime = runtimeFor(inspector.observer);
      // 280 events, 6 of each 7 carrying the 64 KiB prompt: 17 MB, held 200 of them whole before.
      const ids = await traffic(runtime, 40, 64 * 1024);
      expect(inspector.connected).toBe(false);
      expect(inspector.backlogBytes).toBeLessThanOrEqual(2 * MIB);
      expect(inspector.backlogBytes).toBeGreaterThan(MIB);
      const dropped = inspector.droppedEvents;
      expect(dropped).toBeGreaterThan(240);
      const server = await inspectorServer(false, gone.port);
      await until(() => inspector.connected, 'the inspector to connect');
      const later = await traffic(runtime, 1, 16);
      await until(
        () => server.received.filter((text) => text.includes(later[0] as string)).length === 7,
        'the later session',
      );
      const { held, bytes } = heldBefore(server.received, later);
      expect(bytes).toBeLessThanOrEqual(2 * MIB);
      // What was held is what was not dropped, the newest: it ends with the last session's end.
      expect(held.length + dropped).toBe(40 * 7);
      expect(held.at(-1)).toContain(ids.at(-1));
      expect(inspector.droppedEvents).toBe(dropped);
      expect(told).toEqual([]);
    },
  );

  it('connects again after the inspector closes, sends it what came meanwhile, and the sessions that follow', async () => {
    const gone = await inspectorServer(false);
    await gone.close();
    const inspector = await connected(gone.url, { ...QUICK, maxBacklogBytes: 2 * MIB });
    const runtime = runtimeFor(inspector.observer);
    const earlier = await traffic(runtime, 1, 16); // held until the first inspector listens
    const first = await inspectorServer(false, gone.port);
    await until(() => first.received.length === 7, 'the first session, held, then sent');
    await first.close(); // the relay stopped, or restarted
    await until(() => !inspector.connected, 'the connection to close');
    const meanwhile = await traffic(runtime, 3, 16);
    expect(inspector.backlogBytes).toBeGreaterThan(0);
    const second = await inspectorServer(false, gone.port);
    await until(() => inspector.connected, 'the inspector to connect again');
    const later = await traffic(runtime, 2, 16);
    const of = (id: string) => second.received.filter((text) => text.includes(id)).length;
    await until(() => later.every((id) => of(id) === 7), 'the two later sessions, whole');
    expect(meanwhile.map(of)).toEqual([7, 7, 7]);
    // What was held for the first inspector and sent to it is not sent again.
    expect(of(earlier[0] as string)).toBe(0);
    expect(second.received).toHaveLength(5 * 7);
    expect(inspector.droppedEvents).toBe(0);
  });

  it('tries again one at a time, each wait doubling up to the longest, and stops trying at stop(), dropping and counting what it held', async () => {
    const attempts: number[] = [];
    const refusing = createServer((socket) => {
      attempts.push(performance.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => refusing.close(resolve)));
    const url = `ws://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    const inspector = await connected(url, { minReconnectDelayMs: 40, maxReconnectDelayMs: 160 });
    const runtime = runtimeFor(inspector.observer);
    await traffic(runtime, 1, 16);
    await sleep(1500);
    // Waits of 40, 80, 160, 160 ... ms: about 11 attempts in 1.5 s (37 at 40 ms, thousands at none).
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    expect(attempts.length).toBeLessThanOrEqual(13);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThan(30);
    expect(gaps.at(-1)).toBeGreaterThan(140);
    expect(inspector.backlogBytes).toBeGreaterThan(0);
    expect(inspector.droppedEvents).toBe(0);
    inspector.stop();
    expect(inspector.backlogBytes).toBe(0);
    expect(inspector.droppedEvents).toBe(7); // the session's events, held (until 2026-12-07 uncounted)
    const tried = attempts.length;
    await traffic(runtime, 1, 16);
    await sleep(500);
    expect(attempts).toHaveLength(tried);
    expect(inspector.backlogBytes).toBe(0);
    expect(inspector.droppedEvents).toBe(7); // later events are discarded, uncounted
    expect(inspector.connected).toBe(false);
  });

  it('gives up an attempt that does not open in connectTimeoutMs (a program that accepts and answers nothing), and tries again', async () => {
    const attempts: unknown[] = [];
    const silent = createServer((socket) => attempts.push(socket)); // reads the upgrade, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          silent.close(resolve);
          for (const socket of attempts) (socket as { destroy(): void }).destroy();
        }),
    );
    const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    await connected(url, { connectTimeoutMs: 100, minReconnectDelayMs: 50, maxReconnectDelayMs: 50 });
    // Without the timeout the first attempt waits for ever: one connection, no other.
    await until(() => attempts.length >= 3, 'attempts after the first timed out');
  });

  it('waits the first delay again once a connection opened (an inspector that closes each one at once)', async () => {
    const server = await inspectorServer(false);
    let opened = 0;
    server.wss.on('connection', (socket) => {
      opened += 1;
      socket.close();
    });
    await connected(server.url, { minReconnectDelayMs: 40, maxReconnectDelayMs: 5000 });
    await sleep(3000);
    // Every 40 ms and a handshake: about 60; doubling from 40 ms without going back, 7 at most.
    expect(opened).toBeGreaterThanOrEqual(10);
  });
});
