/**
 * The submitter's last guard (`backstop`, src/scale/owner.ts) for a session no start of which was
 * heard here: a queue timeout once Redis says it never started, a run's end when Redis holds a run
 * of it (its start went unheard in a cut), and, when Redis cannot say, no end of its own but the
 * caller told that its end is not known (`giveUp`). Until 2026-12-07 each of them ended as a run
 * timeout, "Expected the session to finish within ... of starting", for a call that never started.
 */
import { describe, expect, it } from 'vitest';
import type { LeaseState, RunRecord } from '../../../src/runtime/ports.js';
import type { SessionResult } from '../../../src/runtime/types.js';
import { backstop, createOwner, UNHEARD_MESSAGE } from '../../../src/scale/owner.js';
import { ManualClock } from '../../support/manual-clock.js';
import { queuedSession } from '../../support/queued-session.js';

/** A session queued at 1 s for 2 s, run for at most 1 s; its backstop fires at 14 s. */
function setting(redis: { readonly away?: boolean; readonly run?: RunRecord }) {
  const data = queuedSession('s1', 'p', 0);
  const input = { ...data.input, queueDeadlineAt: 3_000, timeoutMs: 1_000 };
  const owner = createOwner({ ...data, input });
  const clock = new ManualClock();
  clock.time = 14_000;
  let stored: SessionResult | undefined;
  const told: { ended: SessionResult[]; gaveUp: string[] } = { ended: [], gaveUp: [] };
  const down = async () => {
    throw new Error('Connection is closed.');
  };
  const store = {
    result: redis.away ? down : async () => stored,
    leaseState: redis.away
      ? down
      : async (): Promise<LeaseState> => ({
          ended: false,
          run: redis.run,
          cancelReason: null,
          confirmed: true,
        }),
    settle: async (result: SessionResult) => {
      stored ??= result;
      return stored === result;
    },
    liveSession: () => undefined,
  };
  const run = () =>
    backstop(owner, {
      store,
      queue: { waiting: redis.away ? down : async () => true },
      onError: () => {},
      clock,
      end: (result) => told.ended.push(result),
      giveUp: (message) => told.gaveUp.push(message),
    });
  return { owner, run, told, stored: () => stored };
}

describe('the backstop of a session not heard to start', () => {
  it('ends one that never started as a queue timeout, settled for the cluster', async () => {
    const s = setting({});
    await s.run();
    expect(s.told.gaveUp).toEqual([]);
    const [result] = s.told.ended;
    expect(s.told.ended).toHaveLength(1);
    expect(result?.ok ? undefined : result?.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'queue' });
    expect(result?.ok ? '' : result?.error.message).toContain('Expected the session to start within 2000 ms');
    expect(result?.metadata).toMatchObject({ state: 'timedOut', attempts: 0 });
    expect(s.stored()).toBe(result);
  });

  it('ends one whose start went unheard (a run in Redis) as its run’s timeout, never a queue timeout', async () => {
    const s = setting({ run: { attempts: 1, startedAt: 2_500, runDeadlineAt: 3_500 } });
    await s.run();
    const [result] = s.told.ended;
    expect(result?.ok ? undefined : result?.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'run' });
    expect(s.told.gaveUp).toEqual([]);
  });

  it('tells its caller its end is not known when Redis cannot say whether it started', async () => {
    const s = setting({ away: true });
    await s.run();
    expect(s.told.gaveUp).toEqual([UNHEARD_MESSAGE]);
    expect(s.told.ended).toEqual([]);
    expect(s.stored()).toBeUndefined();
  });

  it('still ends one heard to start as a run timeout when Redis cannot be read', async () => {
    const s = setting({ away: true });
    s.owner.started = true;
    await s.run();
    const [result] = s.told.ended;
    expect(result?.ok ? undefined : result?.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'run' });
    expect(s.told.gaveUp).toEqual([]);
  });
});
