/**
 * The queue-deadline sweep (`withdrawals.ts`) and a session past its deadline with no job, no run
 * and no end: a submit whose summary landed and whose job's add did not (`enqueue-in-part.test.ts`
 * shows it on Redis). It ends `BACKEND_UNAVAILABLE`, as its caller was told, on the second sweep
 * that finds it so: one withdrawn by another instance between its removal and its end has its end
 * by then, and is not ended twice. Ports faked here, to set each state the sweep reads exactly.
 */

import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { CallerOf, LeaseState, SessionQueue, SessionStore } from '../../src/runtime/ports.js';
import type { SessionResult, SessionSummary } from '../../src/runtime/types.js';
import { Withdrawals } from '../../src/scale/withdrawals.js';

const ID = 's1';
const CREATED = 1_000_000;
const summary: SessionSummary = {
  ...{ sessionId: ID, requestId: 'r1', provider: 'p', model: 'm', priority: 5, state: 'queued' },
  ...{ createdAt: CREATED, attempts: 0, label: 'nightly', owner: 'alice' },
};

interface Seen {
  settled: { result: SessionResult; label: string | undefined; endedAt: number }[];
  cleared: string[];
}

/** The caller metadata its submitter wrote beside its summary. */
const CALLER: CallerOf = { caller: { owner: 'alice', team: 'blue' }, callerTruncated: true };

/** A sweep's ports: one overdue session, with `state` (changed between sweeps) for what it finds. */
function sweeper(state: { lease: Partial<LeaseState>; job: boolean; live: boolean; caller?: CallerOf }) {
  const clock = new SimulatedClock();
  clock.set(CREATED + 5_000);
  const seen: Seen = { settled: [], cleared: [] };
  const queue = {
    overdue: async () => [{ provider: 'p', sessionId: ID }],
    withdraw: async () => undefined,
    waiting: async () => state.job,
    clearDeadline: async (provider: string, id: string) => void seen.cleared.push(`${provider}|${id}`),
  } as unknown as SessionQueue;
  const store = {
    leaseState: async () => ({
      ended: false,
      run: undefined,
      cancelReason: null,
      confirmed: true,
      ...state.lease,
    }),
    liveSession: () => (state.live ? summary : undefined),
    callerOf: async (id: string) => (id === ID ? state.caller : undefined),
    settle: async (result: SessionResult, label: string | undefined, endedAt: number) => {
      seen.settled.push({ result, label, endedAt });
      return true;
    },
  } as unknown as SessionStore;
  const withdrawals = new Withdrawals({
    queue,
    store,
    runner: { endMoved: async () => {}, releaseLost: async () => {} },
    view: { heldBy: async () => undefined },
    clock,
    onError: (error) => {
      throw error;
    },
  });
  return { withdrawals, seen, clock };
}

describe('the queue-deadline sweep, a session with no job, no run and no end', () => {
  it('ends BACKEND_UNAVAILABLE on the second sweep that finds it so, from its summary, once', async () => {
    const { withdrawals, seen, clock } = sweeper({ lease: {}, job: false, live: true, caller: CALLER });
    await withdrawals.sweep();
    expect(seen).toEqual({ settled: [], cleared: [] });
    clock.increment(1_000);
    await withdrawals.sweep();
    expect(seen.settled).toHaveLength(1);
    const [{ result, label, endedAt }] = seen.settled as [Seen['settled'][number]];
    expect(result.ok ? '' : `${result.error.code} ${result.error.retryable}`).toBe(
      'BACKEND_UNAVAILABLE false',
    );
    expect(result.ok ? '' : result.error.message).toMatch(
      /^Expected the cluster to hold the job .*taken in part/,
    );
    expect(result.metadata).toEqual({
      ...{ sessionId: ID, requestId: 'r1', provider: 'p', model: 'm', priority: 5, state: 'cancelled' },
      ...{ queuedMs: 6_000, runMs: 0, totalMs: 6_000, attempts: 0, code: 'BACKEND_UNAVAILABLE' },
      ...{ label: 'nightly', caller: { owner: 'alice', team: 'blue' }, truncated: true },
    });
    expect([label, endedAt]).toEqual(['nightly', CREATED + 6_000]);
    expect(seen.cleared).toEqual(['p|s1']);
  });

  it('carries its caller metadata as its submitter wrote it, without `truncated` when it was whole', async () => {
    const caller = { caller: { owner: 'alice', team: 'blue' } };
    const { withdrawals, seen } = sweeper({ lease: {}, job: false, live: true, caller });
    await withdrawals.sweep();
    await withdrawals.sweep();
    expect(seen.settled.map((s) => s.result.metadata)).toEqual([
      expect.not.objectContaining({ truncated: expect.anything() }),
    ]);
    expect(seen.settled[0]?.result.metadata.caller).toEqual({ owner: 'alice', team: 'blue' });
  });

  it('carries its summary’s owner alone when its submitter wrote no caller metadata (one before 2026-12-06)', async () => {
    const { withdrawals, seen } = sweeper({ lease: {}, job: false, live: true });
    await withdrawals.sweep();
    await withdrawals.sweep();
    const metadata = seen.settled[0]?.result.metadata;
    expect([metadata?.caller, metadata?.truncated]).toEqual([{ owner: 'alice' }, undefined]);
  });

  it('is not ended when its end came between two sweeps (withdrawn by another instance)', async () => {
    const state = { lease: {} as Partial<LeaseState>, job: false, live: true };
    const { withdrawals, seen } = sweeper(state);
    await withdrawals.sweep();
    state.lease = { ended: true };
    await withdrawals.sweep();
    await withdrawals.sweep();
    expect(seen.settled).toEqual([]);
    expect(seen.cleared).toEqual(['p|s1', 'p|s1']);
  });

  it('keeps its deadline while its job is in the queue (leased only to be put back)', async () => {
    const { withdrawals, seen } = sweeper({ lease: {}, job: true, live: true });
    for (let i = 0; i < 3; i++) await withdrawals.sweep();
    expect(seen).toEqual({ settled: [], cleared: [] });
  });

  it('forgets its deadline when it has no summary either (its whole enqueue refused but the deadline)', async () => {
    const { withdrawals, seen } = sweeper({ lease: { confirmed: false }, job: false, live: false });
    await withdrawals.sweep();
    expect(seen.cleared).toEqual([]);
    await withdrawals.sweep();
    expect(seen).toEqual({ settled: [], cleared: ['p|s1'] });
  });

  it('waits for its summary to reach this instance’s mirror before ending it', async () => {
    const state = { lease: {}, job: false, live: false };
    const { withdrawals, seen } = sweeper(state);
    await withdrawals.sweep();
    await withdrawals.sweep();
    expect(seen).toEqual({ settled: [], cleared: [] });
    state.live = true;
    await withdrawals.sweep();
    expect(seen.settled).toHaveLength(1);
  });
});

describe('a withdrawal at the queue deadline of a session that started and waits again', () => {
  /** `withdraw(..., 'tick')` (the submitter's own queue-deadline timer) of a waiting job whose run record has its run deadline `runDeadlineIn` ms on. */
  async function withdrawStarted(runDeadlineIn: number) {
    const clock = new SimulatedClock();
    clock.set(CREATED + 5_000);
    const ended: string[] = [];
    const input = {
      sessionId: ID,
      requestId: 'r1',
      provider: 'p',
      model: 'm',
      priority: 5,
      createdAt: CREATED,
    };
    const data = { input: { ...input, queueDeadlineAt: CREATED + 500, timeoutMs: 10_000 }, request: {} };
    const run = { startedAt: CREATED + 100, attempts: 1, runDeadlineAt: clock.now() + runDeadlineIn };
    const withdrawals = new Withdrawals({
      queue: {
        withdraw: async () => {
          ended.push('withdrawn');
          return data;
        },
      } as unknown as SessionQueue,
      store: {
        leaseState: async () => ({ ended: false, run, cancelReason: null, confirmed: true }),
        settle: async (result: SessionResult) => {
          ended.push(`settled ${result.metadata.state}`);
          return true;
        },
      } as unknown as SessionStore,
      runner: {
        endMoved: async () => void ended.push('from its run record'),
        releaseLost: async () => {},
      },
      view: { heldBy: async () => undefined },
      clock,
      onError: (error) => {
        throw error;
      },
    });
    return { withdrawn: await withdrawals.withdraw('p', ID, 'tick'), ended };
  }

  it('past its run deadline, ends it from its run record (its attempts kept, no call)', async () => {
    expect(await withdrawStarted(0)).toEqual({
      withdrawn: true,
      ended: ['withdrawn', 'from its run record'],
    });
  });

  it('before its run deadline, leaves it waiting: not a queue timeout, and not run here', async () => {
    expect(await withdrawStarted(1_000)).toEqual({ withdrawn: false, ended: [] });
  });
});
