/**
 * The in-memory `SessionStore` (`memory-ports/store.ts`) against the port's contract (`ports.ts`),
 * on a simulated clock, without a runtime: live sessions are the hub's, seen by every instance at
 * once; `settle` ends a session exactly once across instances; results and cancel marks stay
 * readable for `RESULT_TTL_MS`; each instance keeps its own bounded history of ended sessions.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../../../src/runtime/memory-ports/hub.js';
import {
  ExpiringMap,
  MemorySessionStore,
  RESULT_TTL_MS,
} from '../../../../src/runtime/memory-ports/store.js';
import type { BusMessage, RunRecord } from '../../../../src/runtime/ports.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from '../../../../src/runtime/types.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function summary(sessionId: string, state: SessionSummary['state'] = 'running'): SessionSummary {
  return {
    sessionId,
    requestId: `r-${sessionId}`,
    provider: 'p',
    model: 'm',
    priority: 5,
    state,
    createdAt: 900,
    attempts: 1,
  };
}

function result(sessionId: string, provider = 'p'): SessionResult {
  return {
    ok: true,
    content: 'hi',
    metadata: {
      sessionId,
      requestId: `r-${sessionId}`,
      provider,
      model: 'm',
      priority: 5,
      state: 'done',
      queuedMs: 10,
      runMs: 40,
      totalMs: 50,
      attempts: 1,
    },
  };
}

const started = (sessionId: string): RuntimeEvent => ({
  type: 'session.started',
  sessionId,
  attempt: 1,
  at: 1000,
  provider: 'p',
});

const run: RunRecord = { attempts: 1, startedAt: 1000, runDeadlineAt: 61_000 };

function setup(historySize = 10) {
  const clock = new SimulatedClock();
  clock.set(1000);
  const hub = new MemoryClusterHub({ clock });
  const heard: BusMessage[] = [];
  hub.bus.listen({ event: (m) => heard.push(m), cancel: () => undefined, onError: () => undefined });
  const store = (origin: string, size = historySize) => new MemorySessionStore(hub, origin, size);
  return { clock, hub, heard, store };
}

describe('ExpiringMap', () => {
  it('reads an entry until its TTL has passed, and not from that instant on', () => {
    const clock = new SimulatedClock();
    clock.set(0);
    const map = new ExpiringMap<string>(clock);
    map.set('a', 'A', 100);
    expect(map.get('a')).toBe('A');
    expect(map.has('a')).toBe(true);
    clock.set(99);
    expect(map.get('a')).toBe('A');
    clock.set(100);
    expect(map.get('a')).toBeUndefined();
    expect(map.has('a')).toBe(false);
    // Read once expired, it is dropped.
    expect(map.size).toBe(0);
  });

  it('drops expired entries, oldest first, as new ones arrive, and keeps those still alive', () => {
    const clock = new SimulatedClock();
    clock.set(0);
    const map = new ExpiringMap<number>(clock);
    map.set('a', 1, 100);
    map.set('b', 2, 200);
    map.set('c', 3, 300);
    clock.set(200);
    map.set('d', 4, 300);
    // a and b expired (b at this very instant); c and d are alive.
    expect(map.size).toBe(2);
    expect(map.get('c')).toBe(3);
  });

  it('setting a key again renews it and moves it behind the others', () => {
    const clock = new SimulatedClock();
    clock.set(0);
    const map = new ExpiringMap<number>(clock);
    map.set('a', 1, 100);
    map.set('b', 2, 100);
    clock.set(50);
    map.set('a', 10, 1000);
    expect(map.size).toBe(2);
    expect(map.get('a')).toBe(10);
    clock.set(200);
    map.set('c', 3, 1000);
    // b (expired) was oldest: dropped; a (renewed) and c stay.
    expect(map.size).toBe(2);
    expect(map.get('a')).toBe(10);
  });

  it('deletes an entry', () => {
    const clock = new SimulatedClock();
    clock.set(0);
    const map = new ExpiringMap<number>(clock);
    map.set('a', 1, 100);
    map.set('b', 2, 100);
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    expect(map.get('b')).toBe(2);
    expect(map.size).toBe(1);
  });
});

describe('MemorySessionStore: live sessions', () => {
  it("shows a session one instance puts to every instance at once, and tells the cluster with the put's origin", async () => {
    const { store, heard } = setup();
    const a = store('A');
    const b = store('B');
    void a.put(summary('s1', 'queued'), started('s1'));
    expect(b.liveSession('s1')).toEqual(summary('s1', 'queued'));
    void b.put(summary('s1'), started('s1'));
    expect(a.liveSession('s1')?.state).toBe('running');
    expect([...a.liveSessions()]).toEqual([summary('s1')]);
    expect(heard).toEqual([]);
    await flush();
    expect(heard).toEqual([
      { origin: 'A', event: started('s1'), summary: summary('s1', 'queued') },
      { origin: 'B', event: started('s1'), summary: summary('s1') },
    ]);
  });

  it('ignores a put for a session that has ended meanwhile: no live summary, nothing told', async () => {
    const { store, heard } = setup();
    const a = store('A');
    await a.settle(result('s1'), undefined, 950);
    await flush();
    heard.length = 0;
    await a.put(summary('s1'), started('s1'));
    await a.putRunning(summary('s1'), started('s1'), run, 60_000);
    await flush();
    expect(a.liveSession('s1')).toBeUndefined();
    expect([...a.liveSessions()]).toEqual([]);
    expect(heard).toEqual([]);
  });

  it('keeps the caller metadata a put gives beside its summary, for every instance, until the session ends', async () => {
    const { store, hub, heard } = setup();
    const a = store('A');
    const b = store('B');
    const caller = { owner: 'alice', team: 'blue' };
    await a.put(summary('s1', 'queued'), started('s1'), { caller, callerTruncated: true });
    expect(await b.callerOf('s1')).toEqual({ caller, callerTruncated: true });
    // Not in the summary, nor on the bus.
    expect(b.liveSession('s1')).toEqual(summary('s1', 'queued'));
    await flush();
    expect(heard).toEqual([{ origin: 'A', event: started('s1'), summary: summary('s1', 'queued') }]);
    // A later put (its run, a summary alone) keeps it; a put with none keeps it too.
    await b.putRunning(summary('s1'), started('s1'), run, 60_000);
    await b.putSummary(summary('s1'));
    await b.put(summary('s1'), started('s1'));
    expect(await a.callerOf('s1')).toEqual({ caller, callerTruncated: true });
    await b.settle(result('s1'), undefined, 950);
    expect(await a.callerOf('s1')).toBeUndefined();
    expect(hub.callers.size).toBe(0);
  });

  it('keeps of a caller what it has: its metadata alone, or its cut alone, and nothing for none', async () => {
    const { store, hub } = setup();
    const a = store('A');
    await a.put(summary('s1', 'queued'), started('s1'), { caller: { owner: 'bob' }, callerTruncated: false });
    await a.put(summary('s2', 'queued'), started('s2'), { callerTruncated: true });
    await a.put(summary('s3', 'queued'), started('s3'), {});
    await a.put(summary('s4', 'queued'), started('s4'), { callerTruncated: false });
    await a.put(summary('s5', 'queued'), started('s5'));
    expect(await a.callerOf('s1')).toStrictEqual({ caller: { owner: 'bob' } });
    expect(await a.callerOf('s2')).toStrictEqual({ callerTruncated: true });
    expect([...hub.callers.keys()]).toEqual(['s1', 's2']);
  });

  it('keeps no caller metadata for a put on a session that ended, nor once it is forgotten', async () => {
    const { store, hub } = setup();
    const a = store('A');
    await a.settle(result('s1'), undefined, 950);
    await a.put(summary('s1', 'queued'), started('s1'), { caller: { owner: 'alice' } });
    expect(await a.callerOf('s1')).toBeUndefined();
    await a.put(summary('s2', 'queued'), started('s2'), { caller: { owner: 'alice' } });
    a.forget(result('s2'));
    expect(await a.callerOf('s2')).toBeUndefined();
    expect(hub.callers.size).toBe(0);
  });

  it('confirms a session to whichever instance leases it once its summary is put, and no more once it ended', async () => {
    const { store } = setup();
    const a = store('A');
    const b = store('B');
    expect((await b.leaseState('s1')).confirmed).toBe(false);
    await a.put(summary('s1', 'queued'), started('s1'));
    expect((await b.leaseState('s1')).confirmed).toBe(true);
    await a.settle(result('s1'), undefined, 950);
    expect(await b.leaseState('s1')).toMatchObject({ ended: true, confirmed: false });
  });

  it('a summary alone is every instance’s at once, told to no one, and not once the session has ended', async () => {
    const { store, heard } = setup();
    const a = store('A');
    const b = store('B');
    await a.putRunning(summary('s1'), started('s1'), run, 60_000);
    await flush();
    heard.length = 0;
    const held: SessionSummary = { ...summary('s1'), waitingFor: 'cooldown' };
    await a.putSummary(held);
    expect(b.liveSession('s1')).toEqual(held);
    // A summary-only message (Redis's, here none is sent) changes nothing: the hub holds it already.
    b.apply({ origin: 'A', summary: held });
    expect(b.ended('s1')).toBeUndefined();
    expect((await b.leaseState('s1')).run).toEqual(run);
    await a.settle(result('s1'), undefined, 950);
    await flush();
    heard.length = 0;
    await a.putSummary(held);
    await flush();
    expect(b.liveSession('s1')).toBeUndefined();
    expect(heard).toEqual([]);
  });

  it('records a running session with its run record for as long as the TTL, read in one lease state', async () => {
    const { store, clock, heard } = setup();
    const a = store('A');
    const b = store('B');
    const unseen = { ended: false, run: undefined, cancelReason: null, confirmed: false };
    expect(await b.leaseState('s1')).toEqual(unseen);
    await a.putRunning(summary('s1'), started('s1'), run, 5000);
    expect(b.liveSession('s1')).toEqual(summary('s1'));
    expect(await b.leaseState('s1')).toEqual({ ended: false, run, cancelReason: null, confirmed: true });
    await flush();
    expect(heard).toEqual([{ origin: 'A', event: started('s1'), summary: summary('s1') }]);
    clock.increment(5000);
    expect((await b.leaseState('s1')).run).toBeUndefined();
  });

  it('loads nothing: live sessions are read from the hub itself', async () => {
    const { store } = setup();
    const a = store('A');
    await a.put(summary('s1'), started('s1'));
    await expect(a.load()).resolves.toBeUndefined();
    expect(store('B').liveSession('s1')).toEqual(summary('s1'));
  });
});

describe('MemorySessionStore: settling', () => {
  it('ends a session exactly once across instances: the first settle wins and its result is kept', async () => {
    const { store } = setup();
    const a = store('A');
    const b = store('B');
    const first = result('s1');
    expect(await a.settle(first, undefined, 950)).toBe(true);
    expect(await b.settle({ ...result('s1'), content: 'second' } as SessionResult, undefined, 950)).toBe(
      false,
    );
    expect(await b.result('s1')).toBe(first);
    expect((await b.leaseState('s1')).ended).toBe(true);
  });

  it('reads a retry of the very end it wrote as written (its first answer lost), and tells the cluster once', async () => {
    const { store, heard } = setup();
    const a = store('A');
    const mine = result('s1');
    expect(await a.settle(mine, undefined, 950)).toBe(true);
    const told = heard.length;
    expect(await a.settle(mine, undefined, 950)).toBe(true);
    expect(heard.length).toBe(told);
    expect(await a.settle({ ...mine, content: 'another run' } as SessionResult, undefined, 950)).toBe(false);
    expect(await a.result('s1')).toBe(mine);
  });

  it("removes the session's live summary, queue deadline and run record, and tells the cluster it ended", async () => {
    const { store, hub, heard, clock } = setup();
    const a = store('A');
    hub.queue.add({
      input: {
        sessionId: 's1',
        requestId: 'r',
        provider: 'q',
        model: 'm',
        priority: 5,
        stream: false,
        createdAt: 0,
        queueDeadlineAt: 0,
        timeoutMs: 1,
        idleTimeoutMs: 1,
        maxAttempts: 1,
        backoffBaseMs: 1,
        backoffMaxMs: 1,
      },
      request: { model: 'm', messages: [] },
    });
    await a.putRunning(summary('s1'), started('s1'), run, 60_000);
    await flush();
    heard.length = 0;
    clock.set(2000);
    // It ended at 1990 on its instance's clock; the settle is written at 2000.
    await a.settle(result('s1', 'q'), 'nightly', 1990);
    expect(a.liveSession('s1')).toBeUndefined();
    expect(hub.queue.overdue(10_000, 10)).toEqual([]);
    expect((await a.leaseState('s1')).run).toBeUndefined();
    await flush();
    expect(heard).toEqual([
      {
        origin: 'A',
        event: {
          type: 'session.ended',
          sessionId: 's1',
          result: result('s1', 'q'),
          at: 1990,
          provider: 'q',
          label: 'nightly',
        },
      },
    ]);
  });

  it('tells an ended session without a label with no `label` key', async () => {
    const { store, heard } = setup();
    await store('A').settle(result('s1'), undefined, 950);
    await flush();
    expect(heard).toHaveLength(1);
    expect(Object.keys(heard[0]?.event ?? {})).not.toContain('label');
  });

  it('keeps a result readable for RESULT_TTL_MS, then forgets it (a later settle then wins again)', async () => {
    const { store, clock } = setup();
    const a = store('A');
    await a.settle(result('s1'), undefined, 950);
    clock.increment(RESULT_TTL_MS - 1);
    expect(await a.result('s1')).toEqual(result('s1'));
    clock.increment(1);
    expect(await a.result('s1')).toBeUndefined();
    expect(await a.settle(result('s1'), undefined, 950)).toBe(true);
    expect(RESULT_TTL_MS).toBe(600_000);
  });

  it('marks a session cancelled for whichever instance leases it next, for RESULT_TTL_MS', async () => {
    const { store, clock } = setup();
    await store('A').markCancelled('s1', 'client went away');
    const b = store('B');
    expect(await b.leaseState('s1')).toEqual({
      ended: false,
      run: undefined,
      cancelReason: 'client went away',
      confirmed: false,
    });
    clock.increment(RESULT_TTL_MS);
    expect((await b.leaseState('s1')).cancelReason).toBeNull();
  });

  it('keeps the first cancel’s reason when a session is cancelled again, from any instance', async () => {
    const { store } = setup();
    await store('A').markCancelled('s1', 'first');
    await store('B').markCancelled('s1', 'second');
    expect((await store('A').leaseState('s1')).cancelReason).toBe('first');
  });
});

describe("MemorySessionStore: each instance's history of ended sessions", () => {
  it('adds a session it hears ended to its own history, once, most recent first, summarised from the result', async () => {
    const { store, clock } = setup();
    const a = store('A');
    const b = store('B');
    clock.set(5000);
    const ended = (id: string): BusMessage => ({
      origin: 'B',
      event: { type: 'session.ended', sessionId: id, result: result(id), at: 4990, provider: 'p' },
    });
    a.apply(ended('s1'));
    a.apply(ended('s2'));
    a.apply(ended('s1'));
    a.apply({ origin: 'B', event: started('s3') });
    expect(a.recent(10).map((s) => s.sessionId)).toEqual(['s2', 's1']);
    expect(a.recent(1).map((s) => s.sessionId)).toEqual(['s2']);
    // A page after a cursor: read on from its entry, in this instance's history.
    expect(a.recent(10, undefined, 's2').map((s) => s.sessionId)).toEqual(['s1']);
    expect(b.recent(10, undefined, 's2')).toEqual([]);
    // Another instance's session: its times are counted back from its end (heard at 5000).
    expect(a.ended('s1')).toEqual({
      sessionId: 's1',
      requestId: 'r-s1',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'done',
      createdAt: 4940,
      startedAt: 4950,
      endedAt: 4990,
      attempts: 1,
    });
    expect(a.ended('s3')).toBeUndefined();
    expect(b.ended('s1')).toBeUndefined();
  });

  it('remembers a task’s end in its own history only, as the newest, with the ends it heard, nothing told', async () => {
    const { store, clock, heard } = setup();
    const a = store('A');
    const b = store('B');
    clock.set(5000);
    a.apply({
      origin: 'B',
      event: { type: 'session.ended', sessionId: 's1', result: result('s1'), at: 4990, provider: 'p' },
    });
    const task = { ...summary('t1', 'done'), provider: 'tools', endedAt: 4980, owner: 'alice' };
    a.remember(task);
    await flush();
    expect(heard).toEqual([]);
    // The order it came here, not its end time: a page after either kind's cursor reads on from its entry.
    expect(a.recent(10).map((s) => s.sessionId)).toEqual(['t1', 's1']);
    expect(a.recent(10, undefined, 't1').map((s) => s.sessionId)).toEqual(['s1']);
    expect(a.recent(10, 'alice').map((s) => s.sessionId)).toEqual(['t1']);
    expect(a.ended('t1')).toEqual(task);
    expect(b.recent(10)).toEqual([]);
    expect(b.ended('t1')).toBeUndefined();
  });

  it('keeps at most `historySize` ended sessions, the oldest dropped first', () => {
    const { store } = setup();
    const a = store('A', 2);
    for (const id of ['s1', 's2', 's3'])
      a.apply({
        origin: 'A',
        event: { type: 'session.ended', sessionId: id, result: result(id), at: 1000, provider: 'p' },
      });
    expect(a.recent(10).map((s) => s.sessionId)).toEqual(['s3', 's2']);
    expect(a.ended('s1')).toBeUndefined();
  });

  it('forgets a session in the mirror only: no longer live, in the history, nothing told, no result kept', async () => {
    const { store, heard } = setup();
    const a = store('A');
    const b = store('B');
    await a.put(summary('s1'), started('s1'));
    await flush();
    heard.length = 0;
    a.forget(result('s1'));
    a.forget(result('s1'));
    expect(b.liveSession('s1')).toBeUndefined();
    expect(a.recent(10).map((s) => s.sessionId)).toEqual(['s1']);
    expect(b.ended('s1')).toBeUndefined();
    expect(await a.result('s1')).toBeUndefined();
    await flush();
    expect(heard).toEqual([]);
  });

  it("puts the cluster's end in place of one it forgot, in the same place of its history", () => {
    const { store, clock } = setup();
    const a = store('A');
    clock.set(5000);
    a.forget(result('s1'));
    a.forget(result('s2'));
    const real = { ...result('s1'), metadata: { ...result('s1').metadata, state: 'timedOut' as const } };
    a.correctEnded(real, 4995);
    expect(a.ended('s1')).toMatchObject({ state: 'timedOut', endedAt: 4995 });
    expect(a.recent(10).map((s) => [s.sessionId, s.state])).toEqual([
      ['s2', 'done'],
      ['s1', 'timedOut'],
    ]);
  });
});
