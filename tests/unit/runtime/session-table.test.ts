/**
 * What the session table and a session's handle expose: live sessions by id, queued first for a
 * shutdown, summaries of live and ended ones (with what holds a waiting one back), the bounded
 * history; a handle's id, result, cancel and event stream, and what that stream starts with.
 */
import { describe, expect, it } from 'vitest';
import { observeSession, RecordHandle } from '../../../src/runtime/session-handle.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';
import { SessionTable } from '../../../src/runtime/session-table.js';
import type { SessionEvent, SessionMetadata, SessionResult } from '../../../src/runtime/types.js';
import {
  authFailed,
  chatWork,
  HeldProvider,
  newRecord,
  sessionContext,
  sessionInput,
} from './session-fixtures.js';

const provider = new HeldProvider('p');
const record = (id: string, extra: Partial<SessionRecord> = {}) =>
  newRecord(sessionInput({ sessionId: id, requestId: `r-${id}` }), chatWork(provider), extra);

function metadata(id: string, overrides: Partial<SessionMetadata> = {}): SessionMetadata {
  return {
    sessionId: id,
    requestId: `r-${id}`,
    provider: 'p',
    model: 'm',
    priority: 3,
    state: 'failed',
    queuedMs: 1,
    runMs: 2,
    totalMs: 3,
    attempts: 1,
    code: 'AUTH_FAILED',
    ...overrides,
  };
}

async function collect(stream: AsyncIterable<SessionEvent>, count: number): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for await (const event of stream) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

describe('SessionTable', () => {
  it('keeps live sessions by id until they end, then summarises them from the history', () => {
    const table = new SessionTable(2);
    const a = record('a');
    table.add(a);
    table.add(record('b'));
    expect(table.size).toBe(2);
    expect(table.get('a')).toBe(a);
    expect(table.get('nope')).toBeUndefined();
    expect(table.summary('nope')).toBeUndefined();
    table.end(metadata('a'), 10, 20, 30);
    expect(table.size).toBe(1);
    expect(table.get('a')).toBeUndefined();
    expect(table.summary('a')).toEqual({
      sessionId: 'a',
      requestId: 'r-a',
      provider: 'p',
      model: 'm',
      priority: 3,
      state: 'failed',
      createdAt: 10,
      startedAt: 20,
      endedAt: 30,
      attempts: 1,
      code: 'AUTH_FAILED',
    });
    table.end(metadata('b', { state: 'cancelled' }), 11, null, 31);
    table.end(metadata('c'), 12, 22, 32);
    // The history holds the last two, most recent first.
    expect(table.recent(10).map((s) => s.sessionId)).toEqual(['c', 'b']);
    expect(table.recent(1).map((s) => s.sessionId)).toEqual(['c']);
    // A page after a cursor: read on from its entry.
    expect(table.recent(10, undefined, 'c').map((s) => s.sessionId)).toEqual(['b']);
    expect(table.summary('a')).toBeUndefined();
    expect(table.summary('b')).not.toHaveProperty('startedAt');
  });

  it('lists live sessions queued first, each group in submission order', () => {
    const table = new SessionTable(0);
    const records = [
      record('r1', { admitted: true }),
      record('q1'),
      record('r2', { admitted: true }),
      record('q2'),
    ];
    for (const r of records) table.add(r);
    expect(table.liveQueuedFirst().map((r) => r.input.sessionId)).toEqual(['q1', 'q2', 'r1', 'r2']);
  });

  it('summarises live sessions up to a limit, in submission order, from their current context', () => {
    const table = new SessionTable(0);
    const running = record('a', {
      admitted: true,
      leaf: 'calling',
      actor: {
        send: () => {},
        getSnapshot: () => ({
          value: 'running',
          status: 'active',
          context: sessionContext(sessionInput({ sessionId: 'a' }), { startedAt: 150, attempts: 2 }),
        }),
      },
    });
    table.add(running);
    table.add(record('b'));
    table.add(record('c'));
    expect(table.summaries(2).map((s) => s.sessionId)).toEqual(['a', 'b']);
    expect(table.summaries(0)).toEqual([]);
    expect(table.summaries(5)).toHaveLength(3);
    expect(table.summary('a')).toMatchObject({ state: 'running', startedAt: 150, attempts: 2 });
  });

  it('says what holds a queued session back: its own record first, else its lane', () => {
    const table = new SessionTable(0);
    const asked: string[] = [];
    // By default nothing is known to hold it.
    table.add(record('plain'));
    expect(table.summary('plain')).not.toHaveProperty('waitingFor');
    table.waitingOf = (r) => {
      asked.push(r.input.sessionId);
      return r.input.sessionId === 'free' ? undefined : 'maxConcurrent';
    };
    table.add(record('held'));
    table.add(record('own', { waitingFor: 'tokensPerMinute' }));
    table.add(record('free'));
    table.add(record('running', { admitted: true, leaf: 'calling' }));
    expect(table.summary('held')?.waitingFor).toBe('maxConcurrent');
    expect(table.summary('own')?.waitingFor).toBe('tokensPerMinute');
    expect(table.summary('free')).not.toHaveProperty('waitingFor');
    expect(table.summary('running')).not.toHaveProperty('waitingFor');
    expect(asked).toEqual(['held', 'free']);
  });
});

describe('RecordHandle', () => {
  it("exposes the session's id, result, cancel and events, and not its record", async () => {
    const cancels: [SessionRecord, string][] = [];
    const observed: SessionRecord[] = [];
    const owner = {
      observe: (r: SessionRecord) => {
        observed.push(r);
        return observeSession(r, 0, () => 0);
      },
      cancel: (r: SessionRecord, reason: string) => {
        cancels.push([r, reason]);
        return cancels.length === 1;
      },
    };
    const r = record('secret-session');
    const result = Promise.resolve('x');
    const handle = new RecordHandle(r, result, owner);
    expect(handle.id).toBe('secret-session');
    expect(handle.result).toBe(result);
    const { cancel } = handle;
    expect(cancel()).toBe(true);
    expect(handle.cancel('changed my mind')).toBe(false);
    expect(cancels).toEqual([
      [r, 'cancelled by the caller'],
      [r, 'changed my mind'],
    ]);
    expect(handle.events).not.toBe(handle.events);
    expect(observed).toEqual([r, r]);
    expect(JSON.stringify(handle)).not.toContain('hi');
    expect(Object.keys(handle).sort()).toEqual(['cancel', 'id', 'result']);
  });
});

describe('observeSession', () => {
  it("starts a queued session's stream with its position, and keeps the stream for what follows", async () => {
    const r = record('q');
    const positions: SessionRecord[] = [];
    const stream = observeSession(r, 40, (x) => {
      positions.push(x);
      return 7;
    });
    expect(positions).toEqual([r]);
    const other = observeSession(r, 41, () => 8);
    expect(r.observers).toEqual([stream, other]);
    expect(await collect(stream, 1)).toEqual([
      { type: 'session.queued', sessionId: 'q', position: 7, at: 40 },
    ]);
  });

  it("starts a running session's stream with its current attempt", async () => {
    const context = sessionContext(sessionInput({ sessionId: 'r' }), { attempts: 3 });
    const running = record('r', {
      leaf: 'backingOff',
      actor: { send: () => {}, getSnapshot: () => ({ value: 'x', status: 'active', context }) },
    });
    expect(
      await collect(
        observeSession(running, 50, () => 0),
        1,
      ),
    ).toEqual([{ type: 'session.started', sessionId: 'r', attempt: 3, at: 50 }]);
    const unstarted = record('u', { leaf: 'calling' });
    expect(
      await collect(
        observeSession(unstarted, 51, () => 0),
        1,
      ),
    ).toEqual([{ type: 'session.started', sessionId: 'u', attempt: 1, at: 51 }]);
  });

  it('gives an ended session its result and nothing more', async () => {
    const result: SessionResult = { ok: false, error: authFailed, metadata: metadata('e') };
    const ended = record('e', { leaf: 'failed', result });
    const events: SessionEvent[] = [];
    for await (const event of observeSession(ended, 60, () => 0)) events.push(event);
    expect(events).toEqual([{ type: 'session.ended', sessionId: 'e', result, at: 60 }]);
    expect(ended.observers).toBeNull();
  });

  // Audit leftover (2026-12-05): a reader that broke out stayed among the observers until the end.
  it('drops a stream from the session’s observers as soon as its reader stops, null when none is left', async () => {
    const r = record('b');
    const first = observeSession(r, 70, () => 0);
    const second = observeSession(r, 71, () => 0);
    const kept = r.observers;
    for await (const _ of first) break;
    expect(r.observers).toEqual([second]);
    // A new array: an emit walking the old one is not disturbed.
    expect(kept).toEqual([first, second]);
    await second[Symbol.asyncIterator]()
      .throw?.(new Error('gave up'))
      .catch(() => undefined);
    expect(r.observers).toBeNull();
    // Stopped after the session's end (observers already gone): nothing to drop.
    const third = observeSession(r, 72, () => 0);
    r.observers = null;
    await third[Symbol.asyncIterator]().return?.();
    expect(r.observers).toBeNull();
  });
});
