/**
 * The MCP layer's live list (the `sessions` tool's `live_by_state`, `troupe://sessions`) keeps only
 * what the runtime has live as it is read. On a cluster, events alone left entries for good (an
 * audit, 2026-12-04): a Redis back empty takes a dead instance's sessions out of the runtime's
 * view with no event, and a `session.queued` heard late from a frozen Redis came after the end
 * already told; both stayed listed `queued` while the counts said 0.
 */
import { describe, expect, it } from 'vitest';
import { LiveSessions } from '../../../src/mcp/live-sessions.js';
import type { Runtime, RuntimeEvent, SessionState } from '../../../src/runtime/types.js';

/** A runtime as LiveSessions reads it: its events, and each session's state as it says now. */
function fakeRuntime() {
  const states = new Map<string, SessionState>();
  let listener: (event: RuntimeEvent) => void = () => {};
  const runtime = {
    subscribe: (fn: (event: RuntimeEvent) => void) => {
      listener = fn;
      return () => {};
    },
    session: (id: string) => {
      asked.push(id);
      return states.has(id) ? { sessionId: id, state: states.get(id) } : undefined;
    },
  } as unknown as Runtime;
  const asked: string[] = [];
  const queued = (id: string) =>
    listener({ type: 'session.queued', sessionId: id, provider: 'p', position: 0, at: 1 } as RuntimeEvent);
  const ended = (id: string) => listener({ type: 'session.ended', sessionId: id, at: 2 } as RuntimeEvent);
  return { runtime, states, queued, ended, asked };
}

describe('LiveSessions against the runtime', () => {
  it('drops a session the runtime no longer has, though no event said so', () => {
    const { runtime, states, queued } = fakeRuntime();
    const live = new LiveSessions(runtime);
    for (const id of ['a', 'b']) {
      states.set(id, 'queued');
      queued(id);
    }
    expect(live.list().map((s) => s.sessionId)).toEqual(['a', 'b']);
    states.delete('a'); // its Redis came back empty: the runtime forgot it
    expect(live.list().map((s) => s.sessionId)).toEqual(['b']);
    expect(live.get('a')).toBeUndefined();
    expect(live.get('b')?.state).toBe('queued');
  });

  it('drops a session queued late, after the end the runtime already has', () => {
    const { runtime, states, queued, ended } = fakeRuntime();
    const live = new LiveSessions(runtime);
    states.set('late', 'queued');
    queued('late');
    states.set('late', 'timedOut');
    ended('late');
    queued('late'); // heard from a Redis that was frozen
    expect(live.get('late')).toBeUndefined();
    expect(live.list()).toEqual([]);
  });

  it('asks the runtime only about the sessions the caller’s filter takes, and no more than the limit', () => {
    const { runtime, states, queued, asked } = fakeRuntime();
    const live = new LiveSessions(runtime);
    for (let i = 0; i < 100; i++) {
      states.set(`s${i}`, 'queued');
      queued(`s${i}`);
    }
    const mine = live.list((s) => s.sessionId.endsWith('7'));
    expect(mine.map((s) => s.sessionId)).toEqual([
      's7',
      's17',
      's27',
      's37',
      's47',
      's57',
      's67',
      's77',
      's87',
      's97',
    ]);
    expect(asked).toHaveLength(10);
    asked.length = 0;
    expect(live.list(undefined, 3).map((s) => s.sessionId)).toEqual(['s0', 's1', 's2']);
    expect(asked).toEqual(['s0', 's1', 's2']);
  });

  it('keeps what the runtime has queued or running', () => {
    const { runtime, states, queued } = fakeRuntime();
    const live = new LiveSessions(runtime);
    states.set('r', 'running');
    queued('r');
    expect(live.list().map((s) => s.sessionId)).toEqual(['r']);
    expect(live.get('r')?.sessionId).toBe('r');
  });
});
