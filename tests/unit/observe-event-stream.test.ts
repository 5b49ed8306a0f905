/**
 * `/events` bounds on one stream: a client that stops reading is cut off once more than
 * `maxBufferedBytes` wait unsent for it, its runtime subscription and timer dropped. The
 * socket's backlog is what the handler reads (`res.writableLength`); here the response is a
 * stand-in that reports one, to see that nothing more is written after the cut. Over a real socket
 * that stops reading (the kernel's buffers filled first), and the count bound (`maxClients`):
 * tests/integration/observe-http.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { compactEvent, eventStreamRoute } from '../../src/observe/event-stream-route.js';
import { RuntimeMonitor } from '../../src/observe/monitor.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent } from '../../src/runtime/types.js';

class StandInResponse extends EventEmitter {
  writableLength = 0;
  writableEnded = false;
  destroyed = false;
  readonly written: string[] = [];
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(): this {
    this.writableEnded = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.shutdown({ deadlineMs: 0 });
});

describe('/events: a client that stops reading', () => {
  it('is cut off once its backlog passes maxBufferedBytes, and nothing more is written for it', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    runtimes.push(runtime);
    const route = eventStreamRoute(runtime, new RuntimeMonitor(runtime), {
      intervalMs: 10,
      maxBufferedBytes: 1_000,
    });
    const req = Object.assign(new EventEmitter(), { method: 'GET' });
    const res = new StandInResponse();
    route.handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    expect(route.clients).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(res.destroyed).toBe(false); // a reading client (empty backlog) keeps its stream
    const snapshots = res.written.length;
    expect(snapshots).toBeGreaterThan(1);

    res.writableLength = 1_001; // stopped reading
    await new Promise((r) => setTimeout(r, 60));
    expect(res.destroyed).toBe(true);
    expect(route.clients).toBe(0);
    const atCut = res.written.length;
    expect(atCut).toBe(snapshots);
    await new Promise((r) => setTimeout(r, 40));
    expect(res.written.length).toBe(atCut); // its timer is gone too
  });
});

describe('/events at the server’s close', () => {
  it('sends each stream one last batch and snapshot, then ends it: a page shows the runtime stopped', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
    });
    runtimes.push(runtime);
    const route = eventStreamRoute(runtime, new RuntimeMonitor(runtime), { intervalMs: 60_000 });
    const req = Object.assign(new EventEmitter(), { method: 'GET' });
    const res = new StandInResponse();
    route.handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    const sent = res.written.length;
    expect(res.written.at(-1)).toContain('"state":"accepting"');
    // What `troupe serve` does: the drain first (a session ends in it), the streams closed after.
    await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result;
    await runtime.shutdown({ deadlineMs: 1_000 });
    route.close();
    const last = res.written.slice(sent);
    expect(last).toHaveLength(2);
    expect(last[0]).toMatch(/^event: batch\ndata: .*"type":"session\.ended"/);
    expect(last[1]).toMatch(/^event: snapshot\ndata: /);
    const snapshot = JSON.parse(last[1]!.slice('event: snapshot\ndata: '.length));
    expect(snapshot.status.state).toBe('stopped');
    expect(snapshot.counts.done).toBe(1);
    expect(res.writableEnded).toBe(true);
    expect(route.clients).toBe(0);
  });
});

describe('compactEvent', () => {
  // The dashboard's events list shows why a session failed and where a fallback went from these.
  it('keeps a failed session’s state and error code, and a fallback’s target, and no more', () => {
    const ended = {
      type: 'session.ended',
      at: 5,
      sessionId: 's1',
      provider: 'openai',
      label: 'nightly',
      result: {
        ok: false,
        error: { code: 'RATE_LIMITED', message: 'secret-ish text' },
        metadata: { state: 'failed' },
      },
    } as unknown as RuntimeEvent;
    expect(compactEvent(ended)).toEqual({
      type: 'session.ended',
      at: 5,
      sessionId: 's1',
      provider: 'openai',
      label: 'nightly',
      state: 'failed',
      code: 'RATE_LIMITED',
    });
    const done = {
      ...ended,
      result: { ok: true, value: 'the answer', metadata: { state: 'done' } },
    } as unknown as RuntimeEvent;
    expect(compactEvent(done)).toEqual({
      type: 'session.ended',
      at: 5,
      sessionId: 's1',
      provider: 'openai',
      label: 'nightly',
      state: 'done',
    });
    const fallback = {
      type: 'session.fallback',
      at: 6,
      sessionId: 's1',
      provider: 'openai',
      error: { code: 'PROVIDER_UNAVAILABLE' },
      from: { provider: 'openai', model: 'a' },
      to: { provider: 'kimi', model: 'b' },
    } as unknown as RuntimeEvent;
    expect(compactEvent(fallback)).toEqual({
      type: 'session.fallback',
      at: 6,
      sessionId: 's1',
      provider: 'openai',
      code: 'PROVIDER_UNAVAILABLE',
      to: 'kimi/b',
    });
  });
});
