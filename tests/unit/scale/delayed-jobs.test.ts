/**
 * `DelayedJobs`: what lets the jobs an instance put back in BullMQ's queues as delayed go before
 * their delay ends: a probe's end (all behind it), or one of their caller's sessions ending here
 * (one per place freed).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { DelayedJobs } from '../../../src/scale/delayed-jobs.js';

function setup() {
  const clock = new SimulatedClock();
  clock.set(1000);
  const promoted: string[] = [];
  const jobs = new DelayedJobs(clock, (provider, id) => promoted.push(`${provider}/${id}`));
  return { clock, promoted, jobs };
}

describe('DelayedJobs', () => {
  it('promotes every job behind a probe when it ends, and none of another provider’s', () => {
    const { jobs, promoted } = setup();
    jobs.behindProbe('p', 'j1', 'x', 3000);
    jobs.behindProbe('p', 'j2', 'x', 3000);
    jobs.wake('q', 'x');
    expect(promoted).toEqual([]);
    jobs.wake('p', 'x');
    expect(promoted).toEqual(['p/j1', 'p/j2']);
    // A job put back behind a probe that already ended goes at once.
    jobs.behindProbe('p', 'j3', 'x', 3000);
    expect(promoted).toEqual(['p/j1', 'p/j2', 'p/j3']);
  });

  it('promotes one job of the caller per place freed, first held first, its provider and id split at the last bar', () => {
    const { jobs, promoted, clock } = setup();
    jobs.forCaller('p|a', 'j1', 'alice', 2000, jobs.ticket);
    jobs.forCaller('q', 'j2', 'alice', 2000, jobs.ticket);
    jobs.forCaller('q', 'j3', 'bob', 2000, jobs.ticket);
    jobs.wakeCaller('alice');
    expect(promoted).toEqual(['p|a/j1']);
    jobs.wakeCaller('alice');
    expect(promoted).toEqual(['p|a/j1', 'q/j2']);
    // j4 is leased; bob's delay ran out: BullMQ let j3 wait again already; a wake has nothing to promote.
    const j4 = jobs.ticket;
    clock.increment(1000);
    jobs.wakeCaller('bob');
    expect(promoted).toEqual(['p|a/j1', 'q/j2']);
    // The wake is kept for j4, leased before it: put back, it goes at once.
    jobs.forCaller('q', 'j4', 'bob', 4000, j4);
    expect(promoted).toEqual(['p|a/j1', 'q/j2', 'q/j4']);
  });

  it('spends no wake that came before the job’s lease: it waits out its delay', () => {
    const { jobs, promoted } = setup();
    // One of carol's sessions ended here with none of hers delayed, nor leased.
    jobs.wakeCaller('carol');
    jobs.forCaller('p', 'c1', 'carol', 2000, jobs.ticket);
    expect(promoted).toEqual([]);
    // The next wake after its lease lets it go.
    jobs.wakeCaller('carol');
    expect(promoted).toEqual(['p/c1']);
  });
});
