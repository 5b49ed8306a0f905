/**
 * `EventHub` (`src/runtime/event-hub.ts`): a session's events go to its own streams and, with its
 * provider and label, to every subscriber; a subscriber that throws is reported, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { EventHub } from '../../../../src/runtime/event-hub.js';
import { EventStream } from '../../../../src/runtime/event-stream.js';
import type { SessionRecord } from '../../../../src/runtime/session-record.js';
import type { RuntimeEvent, SessionEvent, SessionResult } from '../../../../src/runtime/types.js';

const record = (observers: EventStream<SessionEvent>[] | null, label?: string) =>
  ({ provider: 'p', label, observers }) as unknown as SessionRecord;

const started: SessionEvent = { type: 'session.started', sessionId: 's1', attempt: 1, at: 5 };

async function take<T>(stream: EventStream<T>, n: number): Promise<T[]> {
  stream.close();
  const out: T[] = [];
  for await (const value of stream) out.push(value);
  expect(out).toHaveLength(n);
  return out;
}

describe('EventHub', () => {
  it('wants an event only when someone would receive it: a subscriber or a stream of the session', () => {
    const hub = new EventHub(() => undefined);
    expect(hub.listening).toBe(false);
    expect(hub.wants(record(null))).toBe(false);
    expect(hub.wants(record([]))).toBe(true);
    const unsubscribe = hub.subscribe(() => undefined);
    expect(hub.listening).toBe(true);
    expect(hub.wants(record(null))).toBe(true);
    unsubscribe();
    expect(hub.listening).toBe(false);
    expect(hub.wants(record(null))).toBe(false);
  });

  it("pushes a session's event to each of its streams as is, and to subscribers with its provider and label", async () => {
    const hub = new EventHub(() => undefined);
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    const streams = [new EventStream<SessionEvent>(), new EventStream<SessionEvent>()];
    hub.emit(record(streams, 'nightly'), started);
    expect(heard).toEqual([{ ...started, provider: 'p', label: 'nightly' }]);
    for (const stream of streams) expect(await take(stream, 1)).toEqual([started]);
    // The session's own event is not changed by what subscribers get.
    expect(started).not.toHaveProperty('provider');
  });

  it('stamps each event’s `at` with its stamp (the wall clock, on a steady clock) before its streams and subscribers get it', async () => {
    const hub = new EventHub(
      () => undefined,
      (at) => at + 1000,
    );
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    const stream = new EventStream<SessionEvent>();
    hub.emit(record([stream]), { ...started });
    expect(heard).toEqual([{ ...started, at: 1005, provider: 'p', label: undefined }]);
    expect(await take(stream, 1)).toEqual([{ ...started, at: 1005 }]);
  });

  it('emits to subscribers alone when the session has no stream, and to its streams alone without subscribers', async () => {
    const hub = new EventHub(() => undefined);
    const stream = new EventStream<SessionEvent>();
    hub.emit(record([stream]), started);
    expect(await take(stream, 1)).toEqual([started]);
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    hub.emit(record(null), { ...started });
    expect(heard).toEqual([{ ...started, provider: 'p', label: undefined }]);
  });

  it('tells subscribers the very event it was given when no stream of the session holds it', async () => {
    const hub = new EventHub(() => undefined);
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    const fresh: SessionEvent = { ...started };
    hub.emit(record(null, 'nightly'), fresh);
    expect(heard[0]).toBe(fresh);
    expect(fresh).toEqual({ ...started, provider: 'p', label: 'nightly' });
    // A stream holds it: subscribers get a copy, the stream's event stays as it was.
    const stream = new EventStream<SessionEvent>();
    const held: SessionEvent = { ...started };
    hub.emit(record([stream], 'nightly'), held);
    expect(heard[1]).not.toBe(held);
    expect(heard[1]).toEqual({ ...started, provider: 'p', label: 'nightly' });
    expect(await take(stream, 1)).toEqual([started]);
    expect(held).toEqual(started);
  });

  // An audit (2026-12-04): a session that timed out held at its hop target's gate was told as
  // ended on the provider it had left, where its metadata, route and history said the target.
  it('tells an end under the provider the session ended on, not the slot it last held', () => {
    const hub = new EventHub(() => undefined);
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    const result = { ok: false, metadata: { provider: 'q' } } as unknown as SessionResult;
    hub.emit(record(null), { type: 'session.ended', sessionId: 's1', result, at: 9 });
    hub.emit(record(null), started);
    expect(heard.map((event) => (event as { provider: string }).provider)).toEqual(['q', 'p']);
  });

  it('broadcasts to every subscriber; one that throws is reported to onError and the others still hear', () => {
    const errors: unknown[] = [];
    const hub = new EventHub((error) => errors.push(error));
    const boom = new Error('subscriber bug');
    const heard: string[] = [];
    hub.subscribe(() => {
      throw boom;
    });
    hub.subscribe((event) => heard.push(event.type));
    const draining: RuntimeEvent = { type: 'supervisor.draining', at: 1, deadlineAt: 2 };
    hub.broadcast(draining);
    hub.emit(record(null), { ...started });
    expect(heard).toEqual(['supervisor.draining', 'session.started']);
    expect(errors).toEqual([boom, boom]);
  });
});

describe('EventHub and a failing listener', () => {
  it('reports an async listener’s rejection to onError (it was unhandled, and Node ended the process)', async () => {
    const reported: unknown[] = [];
    const hub = new EventHub((error) => reported.push(error));
    const boom = new Error('async boom');
    hub.subscribe(async () => {
      throw boom;
    });
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    hub.subscribe(() => undefined); // returns nothing: no error
    hub.emit(record(null), { ...started });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reported).toEqual([boom]);
    expect(heard).toHaveLength(1);
  });

  it('goes on when onError itself throws: every listener still hears the event, the throw is a warning', async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    const hub = new EventHub(() => {
      throw new Error('onError broke');
    });
    hub.subscribe(() => {
      throw new Error('listener broke');
    });
    const heard: RuntimeEvent[] = [];
    hub.subscribe((event) => heard.push(event));
    expect(() => hub.emit(record(null), { ...started })).not.toThrow();
    expect(heard).toHaveLength(1);
    expect((await warned).message).toBe('onError broke');
  });
});

// Audit leftover (2026-12-05): a listener subscribed inside another's callback heard the very event
// being told, since a walk of a `Set` reaches what is added during it.
describe('EventHub: who hears an event told while subscribers change', () => {
  const draining = (at: number): RuntimeEvent => ({ type: 'supervisor.draining', at, deadlineAt: 9 });

  it('a listener subscribed during a broadcast hears only the events after it', () => {
    const hub = new EventHub(() => undefined);
    const late: number[] = [];
    let subscribed = false;
    hub.subscribe(() => {
      if (subscribed) return;
      subscribed = true;
      hub.subscribe((heard) => late.push(heard.at));
    });
    hub.broadcast(draining(1));
    expect(late).toEqual([]);
    hub.broadcast(draining(2));
    hub.emit(record(null), { ...started, at: 3 });
    expect(late).toEqual([2, 3]);
  });

  it('in order: those before it hear the event, a listener removed before its turn does not, one added back waits for the next', () => {
    const hub = new EventHub(() => undefined);
    const heard: string[] = [];
    const b = (event: RuntimeEvent) => heard.push(`b${event.at}`);
    const c = (event: RuntimeEvent) => heard.push(`c${event.at}`);
    let unsubscribeB = () => {};
    let unsubscribeC = () => {};
    hub.subscribe((event) => {
      heard.push(`a${event.at}`);
      if (event.at !== 1) return;
      unsubscribeC(); // removed before its turn: not told
      unsubscribeB();
      unsubscribeB = hub.subscribe(b); // back at the end: from the next event on
    });
    unsubscribeB = hub.subscribe(b);
    unsubscribeC = hub.subscribe(c);
    // The same function again is one subscriber, as in a `Set`.
    hub.subscribe(b);
    hub.broadcast(draining(1));
    expect(heard).toEqual(['a1']);
    hub.broadcast(draining(2));
    expect(heard).toEqual(['a1', 'a2', 'b2']);
    unsubscribeB();
    expect(hub.listening).toBe(true);
    hub.broadcast(draining(3));
    expect(heard).toEqual(['a1', 'a2', 'b2', 'a3']);
  });

  it('a listener subscribed again during a broadcast keeps its place, and hears the event once', () => {
    const hub = new EventHub(() => undefined);
    const heard: string[] = [];
    const b = (event: RuntimeEvent) => heard.push(`b${event.at}`);
    hub.subscribe((event) => {
      heard.push(`a${event.at}`);
      hub.subscribe(b);
    });
    hub.subscribe(b);
    hub.broadcast(draining(1));
    hub.broadcast(draining(2));
    expect(heard).toEqual(['a1', 'b1', 'a2', 'b2']);
  });
});
