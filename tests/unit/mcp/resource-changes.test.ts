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

  it('with no interested listener calls none', () => {
    const { runtime, send } = fakeRuntime();
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
    send(started('a'));
    send({ ...started('a'), type: 'session.ended' } as unknown as RuntimeEvent);
    expect(asked).toBe(2);
    expect(calls).toBe(0);
    changes.close();
  });

  it('forgets a session’s throttle at its end, though no connection listens by then', () => {
    const { runtime, send } = fakeRuntime();
    const changes = new ResourceChanges(runtime);
    const stop = changes.subscribe(() => undefined);
    send({ type: 'session.delta', sessionId: 'a', at: 5000, chars: 3 } as unknown as RuntimeEvent);
    send({ type: 'session.delta', sessionId: 'b', at: 5000, chars: 3 } as unknown as RuntimeEvent);
    expect(changes.throttled).toBe(2);
    send({ ...started('b'), type: 'session.ended' } as unknown as RuntimeEvent);
    expect(changes.throttled).toBe(1);
    // The last connection closes while session a still streams; a ends after.
    stop();
    send({ ...started('a'), type: 'session.ended' } as unknown as RuntimeEvent);
    expect(changes.throttled).toBe(0);
    changes.close();
  });
});
