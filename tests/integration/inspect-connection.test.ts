/**
 * What the inspector's sender (src/observe/inspector-sender.ts) tells of its connection, how it finds
 * a peer that stopped answering, and what it counts when a connection closes with events on it, each
 * against a real WebSocket server on loopback. Until 2026-12-07 a connection lost or opened again
 * was told nowhere, a peer that kept its socket open but answered nothing (a relay suspended with ^Z)
 * was written to until the bound and then had every later event dropped, for ever, and the events
 * written to a connection that then closed were lost without being counted.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { connectInspector } from '../../src/observe/inspect.js';
import { InspectorSender } from '../../src/observe/inspector-sender.js';
import type { InspectObserver } from '../../src/runtime/session-inspection.js';
import { inspectedRuntime, traffic } from '../support/inspected-traffic.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A WebSocket server on loopback; `stalled` pauses each socket (it reads nothing, and answers no ping). */
async function inspectorServer(options: { port?: number; autoPong?: boolean; stalled?: boolean } = {}) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    autoPong: options.autoPong ?? true,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: string[] = [];
  const sockets: WebSocket[] = [];
  let pings = 0;
  wss.on('connection', (socket) => {
    sockets.push(socket);
    if (options.stalled === true) socket.pause();
    socket.on('ping', () => {
      pings += 1;
    });
    socket.on('message', (data) => received.push(String(data)));
  });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    });
  cleanup.push(close);
  const port = (wss.address() as AddressInfo).port;
  return { url: `ws://127.0.0.1:${port}`, port, received, sockets, close, pings: () => pings };
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An inspector that tells its connection into `told` (`+` opened, `-` lost). */
async function told(url: string, options: Parameters<typeof connectInspector>[0] = {}) {
  const lines: string[] = [];
  const inspector = await connectInspector({
    url,
    minReconnectDelayMs: 50,
    maxReconnectDelayMs: 200,
    ...options,
    onConnectionChange: (message, connected) => lines.push(`${connected ? '+' : '-'} ${message}`),
  });
  cleanup.push(() => inspector.stop());
  return { inspector, lines };
}

function runtimeFor(inspect: InspectObserver) {
  return inspectedRuntime(inspect, (step) => cleanup.push(step));
}

describe('the inspector’s connection, told', () => {
  it('tells each connection opened and each one lost once, not each failed attempt between', async () => {
    const first = await inspectorServer();
    const { inspector, lines } = await told(first.url, { maxBacklogBytes: 1048576, maxDeferredEvents: 7 });
    await until(() => inspector.connected, 'the inspector to connect');
    expect(lines).toEqual([`+ connected to the Stately inspector at ${first.url}/`]);
    await first.close();
    await until(() => !inspector.connected, 'the connection to close');
    await traffic(runtimeFor(inspector.observer), 1, 16); // held meanwhile
    await sleep(700); // waits of 50, 100, 200, 200 ms: four failed attempts or more
    expect(lines).toEqual([
      `+ connected to the Stately inspector at ${first.url}/`,
      `- lost the Stately inspector at ${first.url}/ (the connection closed): connecting again in 50 ms, then at most every 200 ms, holding meanwhile the newest 7 events, at most 1048576 bytes (drops counted in troupe_inspector_dropped_events)`,
    ]);
    const second = await inspectorServer({ port: first.port });
    await until(() => inspector.connected, 'the inspector to connect again');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\+ connected to the Stately inspector at ${second.url}/ again, after ([4-9]|\\d\\d) failed attempts; sent the 7 events held meanwhile$`,
      ),
    );
  });

  it('shows no user or password of the URL in what it tells', async () => {
    const server = await inspectorServer();
    const lines: string[] = [];
    const sender = new InspectorSender(
      {
        url: server.url.replace('ws://', 'ws://someone:Zq9secret@'),
        maxBacklogBytes: 0,
        maxDeferredEvents: 0,
        minReconnectDelayMs: 50,
        maxReconnectDelayMs: 50,
        connectTimeoutMs: 1000,
        pingIntervalMs: 60_000,
        pongTimeoutMs: 1000,
        onConnectionChange: (message) => lines.push(message),
      },
      { WebSocket: (await import('ws')).WebSocket, stringify: JSON.stringify },
    );
    cleanup.push(() => sender.stop());
    sender.start();
    await until(() => sender.connected, 'the sender to connect');
    await server.close();
    await until(() => lines.length === 2, 'the connection lost');
    for (const line of lines) {
      expect(line).toContain('ws://***@127.0.0.1:');
      expect(line).not.toMatch(/someone|Zq9secret/);
    }
  });
});

describe('the inspector’s keepalive', () => {
  it('pings an open connection every pingIntervalMs, and keeps one whose pongs come', async () => {
    const server = await inspectorServer();
    const { inspector, lines } = await told(server.url, { pingIntervalMs: 100, pongTimeoutMs: 100 });
    await until(() => inspector.connected, 'the inspector to connect');
    await sleep(1000);
    // About 10 pings in 1 s; without pings none, and each connection closed would open another.
    expect(server.pings()).toBeGreaterThanOrEqual(5);
    expect(server.pings()).toBeLessThanOrEqual(11);
    expect(server.sockets).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(inspector.connected).toBe(true);
  });

  it('closes a connection whose pong has not come in pongTimeoutMs, tells why, and connects again', async () => {
    const server = await inspectorServer({ autoPong: false });
    const { inspector, lines } = await told(server.url, { pingIntervalMs: 100, pongTimeoutMs: 150 });
    // The server takes the second connection before the sender hears it open: wait for both.
    await until(
      () => server.sockets.length >= 2 && lines.length >= 3,
      'a second connection, told, after the first answered no ping',
    );
    expect(lines.slice(0, 3)).toEqual([
      `+ connected to the Stately inspector at ${server.url}/`,
      `- lost the Stately inspector at ${server.url}/ (it answered no ping in 150 ms): connecting again in 50 ms, then at most every 200 ms, holding meanwhile the newest 200 events, at most 41943040 bytes (drops counted in troupe_inspector_dropped_events)`,
      `+ connected to the Stately inspector at ${server.url}/ again, after 0 failed attempts`,
    ]);
    // The first socket was ended from troupe's side: the server sees it closed.
    expect(server.sockets[0]?.readyState).toBeGreaterThanOrEqual(2);
    expect(inspector.droppedEvents).toBe(0);
  });

  it('gives a ping its full pongTimeoutMs: a pong that comes late but in time keeps the connection', async () => {
    const server = await inspectorServer({ autoPong: false });
    const { inspector, lines } = await told(server.url, { pingIntervalMs: 100, pongTimeoutMs: 400 });
    await until(() => server.sockets.length === 1, 'the connection');
    const socket = server.sockets[0] as WebSocket;
    // The server answers each ping itself, 200 ms after it: later than a ping interval, in the timeout.
    socket.on('ping', (data) => setTimeout(() => socket.pong(data), 200));
    await sleep(1200);
    expect(server.sockets).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(inspector.connected).toBe(true);
  });

  it('refuses a ping interval or pong timeout below 1 ms', async () => {
    for (const name of ['pingIntervalMs', 'pongTimeoutMs'])
      for (const bad of [0, 2.5])
        await expect(connectInspector({ url: 'ws://127.0.0.1:9', [name]: bad })).rejects.toThrow(
          `Expected \`${name}\` to be an integer from 1 to 9007199254740991, got \`${bad}\` (number)`,
        );
  });
});

describe('events on a connection that closes', () => {
  it('counts as dropped what was handed to a connection that closed before the system took it, and tells it', async () => {
    const server = await inspectorServer({ stalled: true });
    const { inspector, lines } = await told(server.url, { maxBacklogBytes: Number.MAX_SAFE_INTEGER });
    await until(() => inspector.connected, 'the inspector to connect');
    // 560 events, most of them over 64 KiB: more than the kernel's buffers take (about 20 MB on
    // loopback, measured), the rest waits in troupe.
    await traffic(runtimeFor(inspector.observer), 80, 64 * 1024);
    const waiting = inspector.backlogBytes;
    expect(waiting).toBeGreaterThan(4 * 1024 * 1024);
    expect(inspector.droppedEvents).toBe(0);
    for (const socket of server.sockets) socket.terminate();
    await until(() => !inspector.connected, 'the connection to close');
    const dropped = inspector.droppedEvents;
    // What waited, counted by events: most of them carry the prompt (about 100 KB each, measured).
    expect(dropped).toBeGreaterThanOrEqual(Math.floor(waiting / 300_000));
    expect(dropped).toBeLessThanOrEqual(Math.ceil(waiting / 500));
    expect(dropped).toBeLessThan(80 * 7);
    expect(lines[1]).toContain(
      `(the connection closed); ${dropped} events not yet written out to it dropped: `,
    );
  });

  it('counts none when the inspector read everything before the connection closed', async () => {
    const server = await inspectorServer();
    const { inspector, lines } = await told(server.url);
    await until(() => inspector.connected, 'the inspector to connect');
    await traffic(runtimeFor(inspector.observer), 10, 1024);
    await until(() => server.received.length === 70, 'every event');
    for (const socket of server.sockets) socket.terminate();
    await until(() => !inspector.connected, 'the connection to close');
    expect(inspector.droppedEvents).toBe(0);
    expect(lines[1]).toContain('(the connection closed): connecting again');
  });
});

/** A sender of troupe's own to `url`, quick to connect again; `options` overrides any of its options. */
async function senderTo(
  url: string,
  options: Partial<ConstructorParameters<typeof InspectorSender>[0]> = {},
) {
  const sender = new InspectorSender(
    {
      url,
      maxBacklogBytes: Number.MAX_SAFE_INTEGER,
      maxDeferredEvents: 200,
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 200,
      connectTimeoutMs: 1000,
      pingIntervalMs: 60_000,
      pongTimeoutMs: 1000,
      ...options,
    },
    { WebSocket: (await import('ws')).WebSocket, stringify: (event) => String(event) },
  );
  cleanup.push(() => sender.stop());
  return sender;
}

/** The process's warnings whose message is one of `messages`, from now until the test's end. */
function warningsOf(messages: readonly string[]): Error[] {
  const warnings: Error[] = [];
  const listen = (warning: Error) => {
    if (messages.includes(warning.message)) warnings.push(warning);
  };
  process.on('warning', listen);
  cleanup.push(() => process.off('warning', listen));
  return warnings;
}

const MIB = 1024 * 1024;

describe('an embedder’s callback that throws', () => {
  it('goes to onError, and the inspector connects, tells and sends on (it was an uncaught exception in ws’s handler)', async () => {
    const first = await inspectorServer();
    const errors: unknown[] = [];
    const inspector = await connectInspector({
      url: first.url,
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 200,
      onConnectionChange: (message) => {
        throw new Error(`told: ${message.split(' ')[0]}`);
      },
      onError: (error) => errors.push(error),
    });
    cleanup.push(() => inspector.stop());
    await until(() => inspector.connected && errors.length === 1, 'the inspector to connect');
    await first.close();
    await until(() => errors.length === 2, 'the connection lost, told');
    const second = await inspectorServer({ port: first.port });
    await until(() => inspector.connected && errors.length === 3, 'the inspector to connect again');
    await traffic(runtimeFor(inspector.observer), 1, 16);
    await until(() => second.received.length === 7, 'the session’s events on the new connection');
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'told: connected',
      'told: lost',
      'told: connected',
    ]);
    expect(inspector.droppedEvents).toBe(0);
  });

  it('goes to onError from onFirstDrop, and send goes on dropping and counting', async () => {
    const server = await inspectorServer({ stalled: true });
    const errors: unknown[] = [];
    const sender = await senderTo(server.url, {
      maxBacklogBytes: MIB,
      onFirstDrop: () => {
        throw new Error('the log is full');
      },
      onError: (error) => errors.push(error),
    });
    sender.start();
    await until(() => sender.connected, 'the sender to connect');
    // 1 MiB events to a peer that reads nothing: past the kernel's buffers, then past the bound.
    const event = 'x'.repeat(MIB);
    for (let i = 0; i < 100 && sender.droppedEvents < 3; i++) {
      sender.send(event);
      await sleep(i < 40 ? 0 : 10);
    }
    expect(sender.droppedEvents).toBe(3);
    expect(errors).toEqual([new Error('the log is full')]);
  });

  it('goes to the process’s warnings without onError, and so does what onError throws', async () => {
    const warnings = warningsOf(['no onError here', 'onError threw']);
    const server = await inspectorServer();
    const bare = await senderTo(server.url, {
      onConnectionChange: () => {
        throw new Error('no onError here');
      },
    });
    const broken = await senderTo(server.url, {
      onConnectionChange: () => {
        throw new Error('told');
      },
      onError: () => {
        throw new Error('onError threw');
      },
    });
    bare.start();
    broken.start();
    await until(() => bare.connected && broken.connected && warnings.length === 2, 'two warnings');
    expect(warnings.map((warning) => warning.message).sort()).toEqual(['no onError here', 'onError threw']);
  });
});

describe('what stop() drops', () => {
  it('counts the events held for a socket not open, as every other drop', async () => {
    const gone = await inspectorServer();
    await gone.close(); // its port, with nothing listening on it
    const sender = await senderTo(gone.url, { maxDeferredEvents: 10 });
    sender.start();
    for (let i = 0; i < 4; i++) sender.send(`event ${i}`);
    expect(sender.backlogBytes).toBe(28);
    sender.stop();
    expect(sender.droppedEvents).toBe(4);
    expect(sender.backlogBytes).toBe(0);
    sender.send('after the stop'); // discarded, uncounted
    sender.stop();
    expect(sender.droppedEvents).toBe(4);
  });

  it('counts the events handed to the open connection and not yet written out', async () => {
    const server = await inspectorServer({ stalled: true });
    const sender = await senderTo(server.url);
    sender.start();
    await until(() => sender.connected, 'the sender to connect');
    for (let i = 0; i < 40; i++) sender.send(`${i} ${'x'.repeat(MIB)}`);
    await sleep(300); // the write callbacks of what the system took
    const waiting = sender.backlogBytes;
    expect(waiting).toBeGreaterThan(4 * MIB);
    expect(sender.droppedEvents).toBe(0);
    sender.stop();
    // Each event is 1 MiB: those that wait, whole or in part.
    expect(sender.droppedEvents).toBeGreaterThanOrEqual(Math.floor(waiting / MIB));
    expect(sender.droppedEvents).toBeLessThanOrEqual(Math.ceil(waiting / MIB) + 1);
    expect(sender.droppedEvents).toBeLessThan(40);
  });
});
