/**
 * `runLeased` (src/scale/bull-lease.ts) when a leased job's move back to its queue fails (a cut, or
 * its lock lapsed meanwhile): the failure is reported and BullMQ is told the job went back all the
 * same (`WaitingError`, `DelayedError`, its rate limit's error), so that it neither completes nor
 * fails it. A failed job is removed (`removeOnFail`): until 2026-12-07 a session never started lost
 * its job so (`tests/scale/move-back-failed.test.ts` on real Redis).
 */
import { DelayedError, type Job, WaitingError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Held, Lease, QueuedSession } from '../../../src/runtime/ports.js';
import { type LeasedJobs, runLeased } from '../../../src/scale/bull-lease.js';
import { DelayedJobs } from '../../../src/scale/delayed-jobs.js';
import type { FairTurn } from '../../../src/scale/fair-turn.js';

const refused = new Error('Missing lock for job j. moveToDelayed');

function setup() {
  const clock = new SimulatedClock();
  const errors: unknown[] = [];
  const promoted: string[] = [];
  const fair = { leased: async () => {}, arrived: async () => {} } as unknown as FairTurn;
  const jobs: LeasedJobs = {
    fair,
    fairQueue: () => ({ toKey: (id) => id, moveAhead: async () => {} }),
    delayed: new DelayedJobs(clock, (provider, id) => promoted.push(`${provider}/${id}`)),
    clock,
    onError: (error) => errors.push(error),
    wakeFetchers: async () => {},
    queue: () => ({ rateLimit: () => Promise.reject(refused) }) as never,
    deadline: async () => {},
  };
  const job = {
    id: 'j',
    queueName: 'p',
    data: { input: { sessionId: 'j', createdAt: 0 }, request: '{}' },
    moveToWait: () => Promise.reject(refused),
    moveToDelayed: () => Promise.reject(refused),
  } as unknown as Job<QueuedSession>;
  const run = (fn: (lease: Lease) => Promise<Held | undefined>) =>
    runLeased(job, 't', fn, jobs, new AbortController().signal);
  return { run, errors, promoted, jobs };
}

describe('runLeased, its job’s move back refused', () => {
  it('tells BullMQ a hand-back went back to wait, and reports the refusal', async () => {
    const { run, errors } = setup();
    await expect(
      run(async (lease) => {
        await lease.handBack();
        return undefined;
      }),
    ).rejects.toBeInstanceOf(WaitingError);
    expect(errors).toEqual([refused]);
  });

  it('tells BullMQ a job held for its model is delayed, and puts nothing behind a probe', async () => {
    const { run, errors, jobs, promoted } = setup();
    const held: Held = { retryInMs: 500, modelOnly: true, probe: 'x' };
    await expect(run(async () => held)).rejects.toBeInstanceOf(DelayedError);
    expect(errors).toEqual([refused]);
    jobs.delayed.wake('p', 'x');
    expect(promoted).toEqual([]);
  });

  it('tells BullMQ a job held for its provider is rate limited', async () => {
    const { run, errors } = setup();
    await expect(run(async () => ({ retryInMs: 500, modelOnly: false }))).rejects.toMatchObject({
      message: Worker.RateLimitError().message,
    });
    expect(errors).toEqual([refused]);
  });

  it('still throws what a run threw without a hand-back: BullMQ fails its job', async () => {
    const { run, errors } = setup();
    const failure = new Error('end not written');
    await expect(run(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(errors).toEqual([]);
  });
});
