/**
 * The in-memory `SessionQueue` and `SharedLimits` (`memory-ports/queue.ts`) against the port's
 * contract (`ports.ts`), on a simulated clock, without a runtime: sessions wait in priority
 * order, by callers' turns (depth) and then FIFO within a priority, under each provider's limit across every instance; a lease ends
 * when its run settles, a handed-back session waits again, and `Held` delays the session alone
 * (`modelOnly`) or pauses its provider for every instance.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { SessionInput } from '../../../../machines/session.js';
import { MemorySessionQueue } from '../../../../src/runtime/memory-ports/instance-queue.js';
import { MemoryQueueCore } from '../../../../src/runtime/memory-ports/queue.js';
import type { Held, Lease, QueuedSession } from '../../../../src/runtime/ports.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `promise` has settled once pending callbacks ran (a test never waits on one that may hang). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await flush();
  return done;
}

function session(sessionId: string, over: Partial<SessionInput> = {}): QueuedSession {
  const input: SessionInput = {
    sessionId,
    requestId: `r-${sessionId}`,
    provider: 'p',
    model: 'm',
    priority: 5,
    stream: false,
    createdAt: 0,
    queueDeadlineAt: 10_000,
    timeoutMs: 60_000,
    idleTimeoutMs: 30_000,
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    ...over,
  };
  return { input, request: { model: input.model, messages: [{ role: 'user', content: sessionId }] } };
}

interface Limits {
  perProvider?: Record<string, number>;
  maxConcurrent?: number;
  fairnessEvery?: number;
}

/**
 * A run the test settles by hand: every lease it got, in order, and how to end each (a session's
 * oldest lease still running first: a moved hop can be leased in its target's queue meanwhile).
 */
class Runs {
  readonly leases: Lease[] = [];
  private readonly running = new Map<
    string,
    { settle: (held: Held | undefined) => void; fail: (error: unknown) => void }[]
  >();

  readonly run = (lease: Lease): Promise<Held | undefined> => {
    this.leases.push(lease);
    const id = lease.session.input.sessionId;
    return new Promise((settle, fail) => {
      this.running.set(id, [...(this.running.get(id) ?? []), { settle, fail }]);
    });
  };

  /** Session ids in the order they were leased. */
  get ids(): string[] {
    return this.leases.map((lease) => lease.session.input.sessionId);
  }

  lease(id: string): Lease {
    const found = [...this.leases].reverse().find((lease) => lease.session.input.sessionId === id);
    if (found === undefined) throw new Error(`Expected ${id} to be leased, got ${this.ids.join(', ')}`);
    return found;
  }

  end(id: string, held?: Held): void {
    this.running.get(id)?.shift()?.settle(held);
  }

  reject(id: string, error: unknown): void {
    this.running.get(id)?.shift()?.fail(error);
  }
}

function cluster(limits: Limits = {}) {
  const clock = new SimulatedClock();
  clock.set(1000);
  const core = new MemoryQueueCore(clock);
  const errors: unknown[] = [];
  const instance = (own: Limits = limits) =>
    new MemorySessionQueue(
      core,
      {
        perProvider: own.perProvider ?? {},
        maxConcurrent: own.maxConcurrent ?? 10,
        fairnessEvery: own.fairnessEvery ?? 100,
      },
      (error) => errors.push(error),
    );
  return { clock, core, errors, instance };
}

describe('MemorySessionQueue: leasing', () => {
  it('leases a waiting session to run; the session is no longer in the queue once its run ends', async () => {
    const { instance, core } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    expect(await queue.waiting('p', 'a')).toBe(true);
    expect(core.waitingCount).toBe(1);
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect(runs.ids).toEqual(['a']);
    expect(runs.leases[0]?.session).toEqual(session('a'));
    // Leased: still in the queue (BullMQ's job key), no longer waiting to be leased.
    expect(await queue.waiting('p', 'a')).toBe(true);
    expect(core.waitingCount).toBe(0);
    runs.end('a');
    await flush();
    expect(await queue.waiting('p', 'a')).toBe(false);
  });

  it('adds a session already in the queue only once, as a BullMQ job id', async () => {
    const { instance } = cluster({ perProvider: { p: 1 } });
    const queue = instance();
    const first = session('a', { priority: 1 });
    await queue.add(first);
    await queue.add(session('a', { priority: 9 }));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('a');
    await flush();
    expect(runs.ids).toEqual(['a']);
    expect(runs.leases[0]?.session).toBe(first);
  });

  it('leases higher priorities first and, within a priority, in arrival order', async () => {
    const { instance } = cluster({ perProvider: { p: 1 } });
    const queue = instance();
    await queue.add(session('low', { priority: 1 }));
    await queue.add(session('mid-1', { priority: 5 }));
    await queue.add(session('high', { priority: 9 }));
    await queue.add(session('mid-2', { priority: 5 }));
    const runs = new Runs();
    queue.lease(runs.run);
    for (const id of ['high', 'mid-1', 'mid-2', 'low']) {
      await flush();
      expect(runs.ids.at(-1)).toBe(id);
      runs.end(id);
    }
    await flush();
    expect(runs.ids).toEqual(['high', 'mid-1', 'mid-2', 'low']);
  });

  it('within a priority leases by depth (callers’ turns), then arrival; a session without one is at depth 0', async () => {
    const { instance } = cluster({ perProvider: { p: 1 } });
    const queue = instance();
    await queue.add({ ...session('a2'), depth: 2 });
    await queue.add({ ...session('a1'), depth: 1 });
    await queue.add(session('none'));
    await queue.add({ ...session('b1'), depth: 1 });
    await queue.add({ ...session('b0'), depth: 0 });
    const runs = new Runs();
    queue.lease(runs.run);
    for (const id of ['none', 'b0', 'a1', 'b1', 'a2']) {
      await flush();
      expect(runs.ids.at(-1)).toBe(id);
      runs.end(id);
    }
  });

  it("gives a provider's oldest session a turn every `fairnessEvery` leases", async () => {
    const { instance } = cluster({ perProvider: { p: 1 }, fairnessEvery: 2 });
    const queue = instance();
    await queue.add(session('old-low', { priority: 0 }));
    for (const id of ['h1', 'h2', 'h3']) await queue.add(session(id, { priority: 9 }));
    const runs = new Runs();
    queue.lease(runs.run);
    for (let i = 0; i < 4; i++) {
      await flush();
      runs.end(runs.ids.at(-1) as string);
    }
    await flush();
    expect(runs.ids).toEqual(['h1', 'old-low', 'h2', 'h3']);
  });

  it("runs at most a provider's limit at once, across every instance, and the next once one ends", async () => {
    const { instance } = cluster({ perProvider: { p: 2 } });
    const a = instance();
    const b = instance();
    for (const id of ['s1', 's2', 's3', 's4']) await a.add(session(id));
    const runsA = new Runs();
    const runsB = new Runs();
    a.lease(runsA.run);
    b.lease(runsB.run);
    await flush();
    // Each instance may run 2 of `p`, the cluster 2 in all; the instances take turns.
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['s1', 's2']);
    expect(runsA.ids).toHaveLength(1);
    expect(runsB.ids).toHaveLength(1);
    runsA.end(runsA.ids[0] as string);
    await flush();
    expect(runsA.ids.length + runsB.ids.length).toBe(3);
  });

  it('gives each instance at most its own concurrency per provider: the lower of the provider limit and maxConcurrent', async () => {
    const { instance } = cluster();
    const queue = instance({ perProvider: { p: 5, q: 1 }, maxConcurrent: 2 });
    for (const id of ['p1', 'p2', 'p3']) await queue.add(session(id));
    for (const id of ['q1', 'q2']) await queue.add(session(id, { provider: 'q' }));
    for (const id of ['r1', 'r2', 'r3']) await queue.add(session(id, { provider: 'r' }));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    // p: min(5, 2); q: min(1, 2); r (no limit of its own): maxConcurrent.
    expect(runs.ids.sort()).toEqual(['p1', 'p2', 'q1', 'r1', 'r2']);
    runs.end('q1');
    await flush();
    expect(runs.ids).toContain('q2');
    expect(runs.ids).not.toContain('p3');
  });

  it('takes turns among instances with room, one lease each in turn', async () => {
    const { instance } = cluster();
    const a = instance();
    const b = instance();
    const c = instance();
    for (const id of ['s1', 's2', 's3', 's4', 's5', 's6']) await a.add(session(id));
    const runs = [new Runs(), new Runs(), new Runs()];
    a.lease(runs[0]!.run);
    b.lease(runs[1]!.run);
    c.lease(runs[2]!.run);
    await flush();
    expect(runs.map((r) => r.ids)).toEqual([
      ['s1', 's4'],
      ['s2', 's5'],
      ['s3', 's6'],
    ]);
  });

  it('skips an instance whose slots for the provider are taken', async () => {
    const { instance } = cluster();
    const a = instance({ perProvider: { p: 1 } });
    // The cluster's limit for p is the last configured: 4.
    const b = instance({ perProvider: { p: 4 } });
    const runsA = new Runs();
    const runsB = new Runs();
    a.lease(runsA.run);
    b.lease(runsB.run);
    for (const id of ['s1', 's2', 's3', 's4']) await a.add(session(id));
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    expect(runsB.ids).toEqual(['s2', 's3', 's4']);
  });

  it('leases nothing before an instance leases, and a second `lease()` on one instance changes nothing', async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    await queue.add(session('b'));
    await flush();
    const runs = new Runs();
    const other = new Runs();
    queue.lease(runs.run);
    queue.lease(other.run);
    await flush();
    expect(runs.ids).toEqual(['a', 'b']);
    expect(other.ids).toEqual([]);
  });

  it("frees an instance's own slot when one of its leases ends, not all of them", async () => {
    const { instance } = cluster();
    const a = instance({ perProvider: { p: 2 } });
    // The cluster's limit for p is the last configured: 5. A runs 2 at once.
    instance({ perProvider: { p: 5 } });
    for (const id of ['s1', 's2', 's3', 's4']) await a.add(session(id));
    const runs = new Runs();
    a.lease(runs.run);
    await flush();
    expect(runs.ids).toEqual(['s1', 's2']);
    runs.end('s1');
    await flush();
    expect(runs.ids).toEqual(['s1', 's2', 's3']);
  });

  it('leases a session added while leasing at once, without the clock moving', async () => {
    const { instance } = cluster();
    const queue = instance();
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    await queue.add(session('late'));
    await flush();
    expect(runs.ids).toEqual(['late']);
  });

  it('does not run a lease inside `add`: leases start from a later microtask', async () => {
    const { instance } = cluster();
    const queue = instance();
    const runs = new Runs();
    queue.lease(runs.run);
    void queue.add(session('a'));
    expect(runs.ids).toEqual([]);
    await flush();
    expect(runs.ids).toEqual(['a']);
  });
});

describe('MemorySessionQueue: withdraw, waiting, deadlines', () => {
  it('withdraws a waiting session: it resolves to the session, which is then gone and never leased', async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    await queue.add(session('b'));
    expect(await queue.withdraw('p', 'a')).toEqual(session('a'));
    expect(await queue.waiting('p', 'a')).toBe(false);
    expect(await queue.withdraw('p', 'a')).toBeUndefined();
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect(runs.ids).toEqual(['b']);
  });

  it("does not withdraw a session of another provider's queue, nor a leased one", async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    expect(await queue.withdraw('q', 'a')).toBeUndefined();
    expect(await queue.waiting('p', 'a')).toBe(true);
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect(await queue.withdraw('p', 'a')).toBeUndefined();
    expect(await queue.waiting('p', 'a')).toBe(true);
    expect(runs.ids).toEqual(['a']);
  });

  it('withdraws a delayed session: its delay ends without leasing it again', async () => {
    const { instance, clock } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('a', { retryInMs: 500, modelOnly: true });
    await flush();
    expect(await queue.withdraw('p', 'a')).toEqual(session('a'));
    clock.increment(1000);
    await flush();
    expect(runs.ids).toEqual(['a']);
    expect(await queue.waiting('p', 'a')).toBe(false);
  });

  it('reports the sessions whose queue deadline is at or before `now`, at most `limit`, from every provider', async () => {
    const { instance } = cluster();
    const a = instance();
    const b = instance();
    await a.add(session('early', { queueDeadlineAt: 100 }));
    await b.add(session('due', { provider: 'q', queueDeadlineAt: 200 }));
    await a.add(session('later', { queueDeadlineAt: 201 }));
    expect(await a.overdue(199, 10)).toEqual([{ provider: 'p', sessionId: 'early' }]);
    expect(await b.overdue(200, 10)).toEqual([
      { provider: 'p', sessionId: 'early' },
      { provider: 'q', sessionId: 'due' },
    ]);
    expect(await a.overdue(200, 1)).toEqual([{ provider: 'p', sessionId: 'early' }]);
    expect(await a.overdue(1000, 2)).toHaveLength(2);
    expect(await a.overdue(1000, 0)).toEqual([]);
  });

  it("splits a provider's name from the session's at the last bar", async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('s', { provider: 'a|b', queueDeadlineAt: 0 }));
    expect(await queue.overdue(0, 10)).toEqual([{ provider: 'a|b', sessionId: 's' }]);
  });

  it("keeps a queue deadline while leased (a handed-back session waits again) until `clearDeadline` or the run's end", async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('a', { queueDeadlineAt: 0 }));
    await queue.add(session('b', { queueDeadlineAt: 0 }));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect(await queue.overdue(0, 10)).toHaveLength(2);
    await queue.clearDeadline('p', 'a');
    expect(await queue.overdue(0, 10)).toEqual([{ provider: 'p', sessionId: 'b' }]);
    // Another provider's name does not clear it.
    await queue.clearDeadline('q', 'b');
    expect(await queue.overdue(0, 10)).toEqual([{ provider: 'p', sessionId: 'b' }]);
  });

  it('moves a queue deadline to a later time (a started session’s run deadline), and adds none that was not there', async () => {
    const { instance } = cluster();
    const queue = instance();
    await queue.add(session('a', { queueDeadlineAt: 0 }));
    await queue.clearDeadline('p', 'a', 500);
    expect(await queue.overdue(499, 10)).toEqual([]);
    expect(await queue.overdue(500, 10)).toEqual([{ provider: 'p', sessionId: 'a' }]);
    await queue.clearDeadline('p', 'a');
    await queue.clearDeadline('p', 'a', 600);
    await queue.clearDeadline('q', 'z', 600);
    expect(await queue.overdue(1_000, 10)).toEqual([]);
  });
});

describe('MemorySessionQueue: handing back', () => {
  it('withdraws a session that waits again after a hand-back or a delay: it is not leased again', async () => {
    const { instance, clock } = cluster({ perProvider: { p: 1 } });
    const a = instance();
    await a.add(session('back'));
    await a.add(session('delayed'));
    await a.add(session('blocker'));
    const runs = new Runs();
    a.lease(runs.run);
    await flush();
    await runs.lease('back').handBack();
    runs.end('back');
    await flush();
    // back waits again, behind the others.
    expect(runs.ids).toEqual(['back', 'delayed']);
    expect(await a.withdraw('p', 'back')).toEqual(session('back'));
    runs.end('delayed', { retryInMs: 100, modelOnly: true });
    await flush();
    expect(runs.ids).toEqual(['back', 'delayed', 'blocker']);
    clock.increment(100);
    await flush();
    // delayed waits again (blocker holds the slot): withdrawn, it is not leased.
    expect(await a.withdraw('p', 'delayed')).toEqual(session('delayed'));
    runs.end('blocker');
    await flush();
    expect(runs.ids).toEqual(['back', 'delayed', 'blocker']);
    expect(await a.waiting('p', 'back')).toBe(false);
    expect(await a.waiting('p', 'delayed')).toBe(false);
  });

  it('puts a handed-back session back to wait at once, behind those of its priority, and frees its slot', async () => {
    const { instance } = cluster({ perProvider: { p: 1 } });
    const a = instance();
    const b = instance();
    for (const id of ['s1', 's2', 's3']) await a.add(session(id));
    const runsA = new Runs();
    a.lease(runsA.run);
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    const runsB = new Runs();
    b.lease(runsB.run);
    await runsA.lease('s1').handBack();
    // Handing back twice is once.
    await runsA.lease('s1').handBack();
    await flush();
    // The cluster's slot s1 held is free: s2 runs on B (A's own slot is held until its run ends).
    expect(runsB.ids).toEqual(['s2']);
    runsA.end('s1');
    await flush();
    // The run ending after the hand-back neither ends the session nor frees a slot again.
    expect(await a.waiting('p', 's1')).toBe(true);
    expect([...runsA.ids, ...runsB.ids]).toEqual(['s1', 's2']);
    runsB.end('s2');
    await flush();
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['s1', 's2', 's3']);
    runsA.end('s3');
    runsB.end('s3');
    await flush();
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['s1', 's1', 's2', 's3']);
    runsA.end('s1');
    runsB.end('s1');
    await flush();
    expect(await a.waiting('p', 's1')).toBe(false);
  });

  it('gives the instance that stopped leasing no more sessions; a handed-back session goes to another', async () => {
    const { instance } = cluster();
    const a = instance();
    const b = instance();
    await a.add(session('s1'));
    const runsA = new Runs();
    a.lease(runsA.run);
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    const stop = a.stopLeasing();
    // Its lease goes on: stopping waits for it.
    expect(await settled(stop)).toBe(false);
    const runsB = new Runs();
    b.lease(runsB.run);
    await runsA.lease('s1').handBack();
    await flush();
    expect(runsB.ids).toEqual(['s1']);
    runsA.end('s1');
    expect(await settled(stop)).toBe(true);
    await a.add(session('s2'));
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    expect(runsB.ids).toEqual(['s1', 's2']);
  });

  it('leases nothing to a paused instance, others go on; resumed, it leases again once a run of its has ended', async () => {
    const { instance, core } = cluster();
    const a = instance();
    const b = instance();
    // Before it leases, a pause or a resume changes nothing.
    a.pauseLeasing();
    a.resumeLeasing();
    const runsA = new Runs();
    a.lease(runsA.run);
    await a.add(session('s1'));
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    a.pauseLeasing();
    await a.add(session('s2'));
    await flush();
    // Paused: s2 waits, and its run (s1) goes on.
    expect(runsA.ids).toEqual(['s1']);
    expect(core.waitingCount).toBe(1);
    const runsB = new Runs();
    b.lease(runsB.run);
    await flush();
    expect(runsB.ids).toEqual(['s2']);
    b.pauseLeasing();
    await a.add(session('s3'));
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    expect(runsB.ids).toEqual(['s2']);
    // Resumed while s1 runs here (as an instance resumes: as a run of its ends), it leases once s1 has.
    a.resumeLeasing();
    await flush();
    expect(runsA.ids).toEqual(['s1']);
    runsA.end('s1');
    await flush();
    expect(runsA.ids).toEqual(['s1', 's3']);
    // With nothing running here, a resume leases at once.
    a.pauseLeasing();
    await a.add(session('s4'));
    runsA.end('s3');
    await flush();
    expect(runsA.ids).toEqual(['s1', 's3']);
    a.resumeLeasing();
    await flush();
    expect(runsA.ids).toEqual(['s1', 's3', 's4']);
  });

  it("gives the slot a run frees to the highest priority of any provider, not to what the ending run's provider left room for", async () => {
    const { instance } = cluster();
    const a = instance({ maxConcurrent: 1 });
    const runs = new Runs();
    a.lease(runs.run);
    await a.add(session('b1', { provider: 'p' }));
    await flush();
    // At its bound, as the lease runner does.
    a.pauseLeasing();
    await a.add(session('q-low', { provider: 'q', priority: 1 }));
    await a.add(session('p-high', { provider: 'p', priority: 8 }));
    await flush();
    // b1 ends: the runner resumes first, then its run returns to the queue.
    a.resumeLeasing();
    runs.end('b1');
    await flush();
    // (q-low follows here: the runner, which would pause again at the bound, is not in this test.)
    expect(runs.ids.slice(0, 2)).toEqual(['b1', 'p-high']);
  });

  it('stopping twice stops only this instance', async () => {
    const { instance } = cluster();
    const a = instance();
    const b = instance();
    a.lease(new Runs().run);
    const runsB = new Runs();
    b.lease(runsB.run);
    expect(await settled(a.stopLeasing())).toBe(true);
    expect(await settled(a.stopLeasing())).toBe(true);
    await a.add(session('s1'));
    await flush();
    expect(runsB.ids).toEqual(['s1']);
  });

  it('stops at once with nothing leased, and `close` stops leasing', async () => {
    const { instance } = cluster();
    const a = instance();
    // Never leased: nothing to stop.
    expect(await settled(a.stopLeasing())).toBe(true);
    expect(await settled(a.close())).toBe(true);
    const runs = new Runs();
    a.lease(runs.run);
    expect(await settled(a.close())).toBe(true);
    await a.add(session('s1'));
    await flush();
    expect(runs.ids).toEqual([]);
  });

  it('stopping resolves only once every lease of the instance ended', async () => {
    const { instance } = cluster();
    const a = instance();
    await a.add(session('s1'));
    await a.add(session('s2'));
    const runs = new Runs();
    a.lease(runs.run);
    await flush();
    const stop = a.stopLeasing();
    runs.end('s1');
    expect(await settled(stop)).toBe(false);
    runs.end('s2');
    expect(await settled(stop)).toBe(true);
  });
});

describe('MemorySessionQueue: runs that fail, and held sessions', () => {
  it('ends the lease of a run that rejects or throws, and reports the error to its instance', async () => {
    const { instance, errors } = cluster({ perProvider: { p: 1 } });
    const queue = instance();
    await queue.add(session('rejects'));
    await queue.add(session('throws'));
    await queue.add(session('next'));
    const runs = new Runs();
    const boom = new Error('boom');
    queue.lease((lease) => {
      if (lease.session.input.sessionId === 'throws') {
        runs.leases.push(lease);
        throw boom;
      }
      return runs.run(lease);
    });
    await flush();
    runs.reject('rejects', new Error('rejected'));
    await flush();
    await flush();
    expect(runs.ids).toEqual(['rejects', 'throws', 'next']);
    expect(errors).toEqual([new Error('rejected'), boom]);
    expect(await queue.waiting('p', 'rejects')).toBe(false);
    expect(await queue.waiting('p', 'throws')).toBe(false);
  });

  it("delays a session held by its model alone; its provider's other sessions go on", async () => {
    const { instance, clock } = cluster({ perProvider: { p: 1 } });
    const queue = instance();
    await queue.add(session('held'));
    await queue.add(session('other'));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('held', { retryInMs: 500, modelOnly: true });
    await flush();
    expect(runs.ids).toEqual(['held', 'other']);
    expect(await queue.waiting('p', 'held')).toBe(true);
    runs.end('other');
    clock.increment(499);
    await flush();
    expect(runs.ids).toEqual(['held', 'other']);
    clock.increment(1);
    await flush();
    expect(runs.ids).toEqual(['held', 'other', 'held']);
  });

  it("wakes the sessions its provider's cooldown delayed, on any instance, and no other delayed one", async () => {
    const { instance, clock } = cluster();
    const a = instance();
    const b = instance();
    for (const id of ['cooling', 'model']) await a.add(session(id));
    await a.add(session('other', { provider: 'q' }));
    const runs = new Runs();
    a.lease(runs.run);
    await flush();
    runs.end('cooling', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    runs.end('model', { retryInMs: 2000, modelOnly: true });
    runs.end('other', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    await flush();
    // Another provider's wake leaves p's alone; p's wakes only the one its cooldown delayed, from any instance.
    b.wake('r', 'x');
    await flush();
    expect(runs.ids).toEqual(['cooling', 'model', 'other']);
    b.wake('p', 'x');
    await flush();
    expect(runs.ids).toEqual(['cooling', 'model', 'other', 'cooling']);
    // Leased again, it is no longer delayed: another wake leaves it be.
    b.wake('p', 'x');
    await flush();
    expect(runs.ids).toHaveLength(4);
    // Its old delay's end leases nothing more; the others' come as they were.
    runs.end('cooling');
    clock.increment(2000);
    await flush();
    expect(runs.ids.slice(4).sort()).toEqual(['model', 'other']);
  });

  it("wakes only what waits behind the probe that ended; one held back as that probe's end came waits again at once, once", async () => {
    const { instance, clock, core } = cluster();
    const queue = instance();
    for (const id of ['behind-y', 'racing', 'late']) await queue.add(session(id));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('behind-y', { retryInMs: 2000, modelOnly: true, probe: 'y' });
    await flush();
    // The probe x ends while `racing`'s lease is still being held back behind it.
    queue.wake('p', 'x');
    runs.end('racing', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    await flush();
    expect(runs.ids).toEqual(['behind-y', 'racing', 'late', 'racing']);
    // Once: held back behind x again, `late` waits for its delay; y's end wakes `behind-y` alone.
    runs.end('late', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    queue.wake('p', 'y');
    await flush();
    expect(runs.ids).toEqual(['behind-y', 'racing', 'late', 'racing', 'behind-y']);
    clock.increment(2000);
    await flush();
    expect(runs.ids).toEqual(['behind-y', 'racing', 'late', 'racing', 'behind-y', 'late']);
    // Nothing waits behind any probe any more, and nothing of them is kept.
    expect((core as unknown as { behind: Map<string, unknown> }).behind.size).toBe(0);
  });

  it('wakes each session its cooldown delayed once, whatever left before: a withdrawal, a delay that ended', async () => {
    const { instance, clock } = cluster();
    const queue = instance();
    for (const id of ['early', 'gone', 'late']) await queue.add(session(id));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('early', { retryInMs: 100, modelOnly: true, probe: 'x' });
    runs.end('gone', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    runs.end('late', { retryInMs: 2000, modelOnly: true, probe: 'x' });
    await flush();
    // `early`'s delay ends and it is leased again; `gone` is withdrawn while delayed.
    clock.increment(100);
    await flush();
    expect(await queue.withdraw('p', 'gone')).toEqual(session('gone'));
    expect(runs.ids).toEqual(['early', 'gone', 'late', 'early']);
    queue.wake('p', 'x');
    await flush();
    expect(runs.ids).toEqual(['early', 'gone', 'late', 'early', 'late']);
  });

  it("lets one session its caller's share delayed go per wake, in the order they were put back, only at the instance that delayed it", async () => {
    const { instance, clock } = cluster();
    const a = instance();
    const b = instance();
    for (const id of ['a1', 'a2', 'a3', 'bob']) await a.add(session(id));
    const runs = new Runs();
    a.lease(runs.run);
    await flush();
    const share = { retryInMs: 1000, modelOnly: true, caller: 'alice' } as const;
    runs.end('a1', share);
    runs.end('a2', share);
    runs.end('bob', { ...share, caller: 'bob' });
    await flush();
    // Another instance's wake, or another caller's, lets none of alice's go.
    b.wakeCaller('alice');
    a.wakeCaller('carol');
    await flush();
    expect(runs.ids).toEqual(['a1', 'a2', 'a3', 'bob']);
    a.wakeCaller('alice');
    await flush();
    expect(runs.ids).toEqual(['a1', 'a2', 'a3', 'bob', 'a1']);
    a.wakeCaller('alice');
    await flush();
    expect(runs.ids).toEqual(['a1', 'a2', 'a3', 'bob', 'a1', 'a2']);
    // Bob's waits for its delay.
    clock.increment(1000);
    await flush();
    expect(runs.ids).toEqual(['a1', 'a2', 'a3', 'bob', 'a1', 'a2', 'bob']);
  });

  it("lets a session its caller's share delayed go at once when a place freed as it was put back; a withdrawn or expired one is passed over", async () => {
    const { instance, clock } = cluster();
    const queue = instance();
    for (const id of ['racing', 'gone', 'early', 'next']) await queue.add(session(id));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    const share = { retryInMs: 1000, modelOnly: true, caller: 'alice' } as const;
    // A place frees while `racing` is still being put back: it waits again at once.
    queue.wakeCaller('alice');
    runs.end('racing', share);
    await flush();
    expect(runs.ids).toEqual(['racing', 'gone', 'early', 'next', 'racing']);
    runs.end('gone', share);
    runs.end('early', { ...share, retryInMs: 10 });
    runs.end('next', share);
    await flush();
    expect(await queue.withdraw('p', 'gone')).toEqual(session('gone'));
    clock.increment(10);
    await flush();
    expect(runs.ids).toEqual(['racing', 'gone', 'early', 'next', 'racing', 'early']);
    // `gone` left and `early`'s delay ended: the wake lets `next` go.
    queue.wakeCaller('alice');
    await flush();
    expect(runs.ids).toEqual(['racing', 'gone', 'early', 'next', 'racing', 'early', 'next']);
  });

  it('spends no wake that came before a session’s lease: held for its caller’s share, it waits out its delay, leased once', async () => {
    const { instance, clock } = cluster();
    const queue = instance();
    const runs = new Runs();
    queue.lease(runs.run);
    // One of alice's sessions ended here with none of hers delayed, nor leased.
    queue.wakeCaller('alice');
    await queue.add(session('later'));
    await flush();
    runs.end('later', { retryInMs: 1000, modelOnly: true, caller: 'alice' });
    await flush();
    // Before, the wake let it go at once, to be leased only to be put back again.
    expect(runs.ids).toEqual(['later']);
    clock.increment(999);
    await flush();
    expect(runs.ids).toEqual(['later']);
    clock.increment(1);
    await flush();
    expect(runs.ids).toEqual(['later', 'later']);
  });

  it("pauses a held session's provider for every instance; other providers go on; it resumes by itself", async () => {
    const { instance, clock } = cluster();
    const a = instance();
    const b = instance();
    await a.add(session('held'));
    const runsA = new Runs();
    a.lease(runsA.run);
    await flush();
    runsA.end('held', { retryInMs: 500, modelOnly: false });
    await flush();
    const runsB = new Runs();
    b.lease(runsB.run);
    await a.add(session('p2'));
    await a.add(session('q1', { provider: 'q' }));
    await flush();
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['held', 'q1']);
    expect(await a.waiting('p', 'held')).toBe(true);
    clock.increment(499);
    await flush();
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['held', 'q1']);
    // At the end of the pause, with nothing else happening, the provider's sessions run again,
    // the held one first (it waited longer).
    clock.increment(1);
    await flush();
    expect([...runsA.ids, ...runsB.ids].sort()).toEqual(['held', 'held', 'p2', 'q1']);
  });

  it('keeps the longer of two pauses of a provider', async () => {
    const { instance, clock } = cluster();
    const queue = instance();
    await queue.add(session('a'));
    await queue.add(session('b'));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    runs.end('a', { retryInMs: 1000, modelOnly: false });
    runs.end('b', { retryInMs: 200, modelOnly: false });
    await flush();
    clock.increment(500);
    await flush();
    expect(runs.ids).toEqual(['a', 'b']);
    clock.increment(500);
    await flush();
    expect(runs.ids.sort()).toEqual(['a', 'a', 'b', 'b']);
  });
});

describe('MemorySessionQueue: limits', () => {
  it("sets the cluster's limits again with `apply()`: a provider's lane made next has them", async () => {
    const { instance } = cluster();
    const a = instance({ perProvider: { p: 1 } });
    const worker = instance({ perProvider: {} });
    // Another instance configured the hub with other limits meanwhile.
    instance({ perProvider: { p: 3 } });
    await a.apply();
    for (const id of ['s1', 's2']) await a.add(session(id));
    const runs = new Runs();
    worker.lease(runs.run);
    await flush();
    expect(runs.ids).toEqual(['s1']);
  });
});

describe('MemorySessionQueue: a fallback hop moves to its target', () => {
  it("frees its provider's slot when its run ends and waits in its target's lane, ahead of that lane's queued sessions", async () => {
    const { instance } = cluster({ perProvider: { p: 1, q: 1 } });
    const queue = instance();
    await queue.add(session('hop'));
    await queue.add(session('next-p'));
    await queue.add(session('on-q', { provider: 'q', priority: 8 }));
    await queue.add(session('queued-q', { provider: 'q', priority: 8 }));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect([...runs.ids].sort()).toEqual(['hop', 'on-q']);
    expect(runs.lease('hop').provider).toBe('p');
    await runs.lease('hop').moveTo('q', 50_000);
    await flush();
    // Until its run ends it holds `p`'s slot.
    expect(runs.ids).toHaveLength(2);
    runs.end('hop');
    await flush();
    // `p` admits its next session at once; the hop waits for `q`'s slot, still in the queue.
    expect(runs.ids.slice(2)).toEqual(['next-p']);
    expect(await queue.waiting('q', 'hop')).toBe(true);
    runs.end('on-q');
    await flush();
    // Ahead of `queued-q` (same priority, queued before the hop moved), leased from `q` now.
    expect(runs.ids.slice(2)).toEqual(['next-p', 'hop']);
    expect(runs.lease('hop').provider).toBe('q');
    runs.end('hop');
    await flush();
    expect(runs.ids.at(-1)).toBe('queued-q');
    expect(await queue.waiting('q', 'hop')).toBe(false);
  });

  it('puts the hop in its target queue at once, as BullMQ adds a job: leased there while its first run still holds its slot', async () => {
    const { instance } = cluster({ perProvider: { p: 1, q: 1 } });
    const queue = instance();
    await queue.add(session('hop'));
    await queue.add(session('next-p'));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    expect(await queue.waiting('q', 'hop')).toBe(false);
    await runs.lease('hop').moveTo('q', 50_000);
    // Moving it twice adds it once (one job id per queue).
    await runs.lease('hop').moveTo('q', 50_000);
    await flush();
    expect(runs.leases.map((l) => [l.session.input.sessionId, l.provider])).toEqual([
      ['hop', 'p'],
      ['hop', 'q'],
    ]);
    // Two jobs, one in each queue: `p`'s slot stays taken until its run ends, and that end leaves `q`'s job.
    expect([await queue.waiting('p', 'hop'), await queue.waiting('q', 'hop')]).toEqual([true, true]);
    expect(await queue.withdraw('q', 'hop')).toBeUndefined();
    runs.end('hop');
    await flush();
    expect(runs.ids).toEqual(['hop', 'hop', 'next-p']);
    expect([await queue.waiting('p', 'hop'), await queue.waiting('q', 'hop')]).toEqual([false, true]);
  });

  it('keeps a waiting hop under its run deadline in its new queue, and gives it back on withdraw, its input unchanged', async () => {
    const { instance } = cluster({ perProvider: { p: 1, q: 1 } });
    const queue = instance();
    await queue.add(session('busy', { provider: 'q', queueDeadlineAt: 99_999 }));
    await queue.add(session('hop', { queueDeadlineAt: 99_999 }));
    const runs = new Runs();
    queue.lease(runs.run);
    await flush();
    await queue.clearDeadline('p', 'hop');
    await runs.lease('hop').moveTo('q', 5_000);
    runs.end('hop');
    await flush();
    expect(await queue.overdue(4_999, 10)).toEqual([]);
    expect(await queue.overdue(5_000, 10)).toEqual([{ provider: 'q', sessionId: 'hop' }]);
    expect(await queue.withdraw('p', 'hop')).toBeUndefined();
    expect(await queue.withdraw('q', 'hop')).toEqual(session('hop', { queueDeadlineAt: 99_999 }));
    expect(await queue.waiting('q', 'hop')).toBe(false);
  });
});
