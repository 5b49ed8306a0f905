/**
 * `ResourceChanges` turns runtime events into changed resource URIs for each listener, and builds
 * none for a listener that says it wants nothing now (a connection without subscriptions).
 */
import { describe, expect, it } from 'vitest';
import { ResourceChanges, SESSIONS_URI, sessionUri } from '../../../src/mcp/resource-changes.js';
import type { Runtime, RuntimeEvent } from '../../../src/runtime/types.js';

function fakeRuntime() {
  const listeners = new Set<(event: RuntimeEvent) => void>();
  const runtime = {
    subscribe(listener: (event: RuntimeEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as Runtime;
  const send = (event: RuntimeEvent) => {
    for (const listener of listeners) listener(event);
  };
  return { runtime, send, listeners };
}

const started = (sessionId: string): RuntimeEvent =>
  ({ type: 'session.started', sessionId, attempt: 1, at: 0, provider: 'p' }) as RuntimeEvent;

describe('ResourceChanges', () => {
  it('tells each interested listener both URIs of a change, and the others nothing', () => {
    const { runtime, send } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    const always: string[] = [];
    const sometimes: string[] = [];
    let interested = false;
    changes.subscribe((uri, id) => always.push(`${uri} ${id}`));
    const stop = changes.subscribe(
      (uri) => sometimes.push(uri),
      () => interested,
    );
    send(started('a/b'));
    expect(always).toEqual([`${sessionUri('a/b')} a/b`, `${SESSIONS_URI} a/b`]);
    expect(sessionUri('a/b')).toBe('troupe://sessions/a%2Fb');
    expect(sometimes).toEqual([]);
    interested = true;
    send(started('c'));
    expect(sometimes).toEqual([sessionUri('c'), SESSIONS_URI]);
    stop();
    send(started('d'));
    expect(sometimes).toHaveLength(2);
    expect(always).toHaveLength(6);
    changes.close();
  });

  it('with no interested listener calls none, and holds no runtime subscription', () => {
    const { runtime, send, listeners } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    let calls = 0;
    let asked = 0;
    changes.subscribe(
      () => calls++,
      () => {
        asked++;
        return false;
      },
    );
    // Asked once, at subscribe: nobody wants anything, so the runtime has no subscriber (and builds no event).
    expect(asked).toBe(1);
    expect(listeners.size).toBe(0);
    expect(changes.listening).toBe(false);
    send(started('a'));
    send({ ...started('a'), type: 'session.ended' } as unknown as RuntimeEvent);
    expect(calls).toBe(0);
    changes.close();
  });

  it('subscribes to the runtime on wake() once a listener is interested, and drops it at the first change nobody wants', () => {
    const { runtime, send, listeners } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    const told: string[] = [];
    let interested = false;
    const stop = changes.subscribe(
      (uri) => told.push(uri),
      () => interested,
    );
    changes.wake();
    expect(listeners.size).toBe(0);
    interested = true;
    changes.wake();
    changes.wake();
    expect(listeners.size).toBe(1);
    send(started('a'));
    expect(told).toEqual([sessionUri('a'), SESSIONS_URI]);
    interested = false;
    send(started('b'));
    expect(told).toHaveLength(2);
    expect(listeners.size).toBe(0);
    interested = true;
    changes.wake();
    send(started('c'));
    expect(told).toEqual([sessionUri('a'), SESSIONS_URI, sessionUri('c'), SESSIONS_URI]);
    stop();
    expect(listeners.size).toBe(0);
    changes.close();
  });

  it('subscribes at once for a listener that always wants changes, until its stop or close()', () => {
    const { runtime, send, listeners } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    const a: string[] = [];
    const stopA = changes.subscribe((uri) => a.push(uri));
    const stopB = changes.subscribe(() => undefined);
    expect(listeners.size).toBe(1);
    stopA();
    expect(listeners.size).toBe(1);
    stopB();
    expect(listeners.size).toBe(0);
    changes.subscribe((uri) => a.push(uri));
    send(started('x'));
    expect(a).toEqual([sessionUri('x'), SESSIONS_URI]);
    changes.close();
    expect(listeners.size).toBe(0);
    send(started('y'));
    expect(a).toHaveLength(2);
  });

  it("after dropping the subscription, throttles a session's streamed characters afresh", () => {
    const { runtime, send } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    const told: string[] = [];
    let interested = true;
    changes.subscribe(
      (uri) => told.push(uri),
      () => interested,
    );
    const delta = (at: number) =>
      ({ type: 'session.delta', sessionId: 's', chars: at, at, provider: 'p' }) as unknown as RuntimeEvent;
    send(delta(5000));
    send(delta(5500));
    expect(told).toHaveLength(2);
    interested = false;
    send(started('t'));
    interested = true;
    changes.wake();
    send(delta(5600));
    expect(told).toHaveLength(4);
    changes.close();
  });
});
