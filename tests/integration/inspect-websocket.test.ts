/**
 * Stately's WebSocket inspector, for real: a compiled-engine runtime whose `inspect` is
 * `connectInspector()` (`@statelyai/inspect`'s `createWebSocketInspector`) sends its sessions to a
 * WebSocket server on loopback, as Stately's local inspector server receives them.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectInspector, loopbackUrl } from '../../src/observe/inspect.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';

interface Received {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value: unknown; status: string; context?: { input?: { sessionId?: string } } };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function inspectorServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: Received[] = [];
  wss.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(String(data)))));
  cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, received };
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function run(url: string, sessions: number, inspectSampleRate?: number) {
  const inspector = await connectInspector({ url });
  cleanup.push(() => inspector.stop());
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
    defaults: { provider: 'simulated', model: 'sim-fast' },
    inspect: inspector.observer,
    ...(inspectSampleRate === undefined ? {} : { inspectSampleRate }),
  });
  cleanup.push(() => runtime.shutdown().then(() => undefined));
  const handles = Array.from({ length: sessions }, (_, i) =>
    runtime.submit({ messages: [{ role: 'user', content: `question ${i}` }] }),
  );
  const results = await Promise.all(handles.map((h) => h.result));
  return { ids: handles.map((h) => h.id), results };
}

describe('Stately inspector over WebSocket', () => {
  it('a WebSocket client receives the actor, its events and snapshots of a compiled-engine session', async () => {
    const server = await inspectorServer();
    const { ids, results } = await run(server.url, 1);
    expect(results[0]?.metadata.state).toBe('done');
    const id = ids[0] as string;
    await until(
      () => server.received.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.status === 'done'),
      'the final snapshot',
    );
    const mine = server.received.filter((e) => e.sessionId === id);
    const actor = mine.find((e) => e.type === '@xstate.actor');
    expect(actor?.name).toBe('session');
    // The machine's definition, which the inspector draws.
    expect(JSON.parse(actor?.definition ?? '{}')).toMatchObject({ id: 'session', initial: 'queued' });
    const events = mine.filter((e) => e.type === '@xstate.event').map((e) => e.event?.type);
    expect(events.slice(0, 2)).toEqual(['xstate.init', 'session.admit']);
    expect(events).toContain('provider.done');
    const values = mine.filter((e) => e.type === '@xstate.snapshot').map((e) => e.snapshot?.value);
    expect(values[0]).toBe('queued');
    expect(values).toContainEqual({ running: { attempt: 'calling' } });
    expect(values.at(-1)).toBe('done');
  });

  it('honours the sample rate: a third of the sessions, each from its start to its end', async () => {
    const server = await inspectorServer();
    const { ids } = await run(server.url, 6, 1 / 3);
    const picked = [ids[2], ids[5]];
    await until(
      () =>
        server.received.filter((e) => e.type === '@xstate.snapshot' && e.snapshot?.status === 'done')
          .length === 2,
      'two final snapshots',
    );
    const actors = server.received.filter((e) => e.type === '@xstate.actor').map((e) => e.sessionId);
    expect(actors).toEqual(picked);
    expect([...new Set(server.received.map((e) => e.sessionId))].sort()).toEqual([...picked].sort());
  });

  it('refuses an inspector anywhere but this machine', () => {
    expect(() => loopbackUrl('ws://inspector.example.com:8080')).toThrow(
      /^Expected the inspector on this machine \(localhost, 127\.0\.0\.1 or \[::1\]\), got "inspector\.example\.com"/,
    );
    expect(() => loopbackUrl('http://127.0.0.1:8080')).toThrow(/ws:\/\/ or wss:\/\//);
    expect(loopbackUrl('ws://localhost:9000')).toBe('ws://localhost:9000/');
  });
});
